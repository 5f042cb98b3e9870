"""Schemathesis fuzzes every operation of the served OpenAPI document against a real server, per backend.

Checks: no 5xx, every response matches its documented schema, every status code is documented.
Cases per operation: TRIPCORD_FUZZ_EXAMPLES (default 30) in the fuzzing phase, plus schemathesis'
examples and coverage phases. The condition evaluator has its own property test:
tests/unit/test_conditions_property.py.
"""

import os
import zlib
from collections import Counter
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from application.ports import WebhookRefused
from infrastructure.webhooks import SignedWebhooks
from interfaces.app import create_app
from interfaces.openapi import openapi_document
from tests.api import make_settings, token
from tests.live_server import LiveServer
from tests.servers import create_database, drop_database

BACKENDS = ["sqlite", "postgres"]
TENANT = "fuzz_tenant"
AUTH = {"Authorization": f"Bearer {token(('*',), ('admin',), sub='fuzzer')}", "X-Tenant-Id": TENANT}
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
MAX_EXAMPLES = int(os.environ.get("TRIPCORD_FUZZ_EXAMPLES", "30"))
KNOWN = 4  # real ids stand in for about half of the generated ids of each kind

schema = schemathesis.openapi.from_dict(openapi_document())
cases: Counter = Counter()  # (backend, operation) → requests sent
statuses: Counter = Counter()


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory, nats_url):
    data_dir = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        database_url = f"sqlite:///{data_dir}/tripcord.db"
    else:
        admin_url = request.getfixturevalue("postgres_admin_url")
        database_url = create_database(admin_url)
        request.addfinalizer(lambda: drop_database(admin_url, database_url))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SignedWebhooks, "send", _loopback_only(SignedWebhooks.send))
        app = create_app(make_settings(data_dir, database_url, nats_url=nats_url, dispatch_deadline_s=0.5))
        with LiveServer(app) as live:
            live.backend = request.param
            yield live


@pytest.fixture(scope="module")
def http(server):
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def known_ids(server, http) -> dict[str, list[str]]:
    """Triggers, events, dispatches and customers that exist, so the fuzzer reaches the 200 paths of the
    operations that name one too."""
    known = {"trigger_id": [], "event_id": [], "dispatch_id": [], "customer_id": []}
    for n in range(KNOWN):
        body = {"name": f"known {n}", "eventType": "purchase", "actionType": "recommend",
                "actionConfig": {"decisionFlowId": "df_1"},
                "condition": {"field": "amount", "operator": "greater_than", "value": n}}
        response = http.post(f"{server.url}/api/v1/triggers", json=body, headers=AUTH, timeout=10)
        assert response.status_code == 201, response.text
        known["trigger_id"].append(response.json()["id"])
    for n in range(KNOWN):
        event = {"type": "purchase", "customerId": f"known-{n}", "data": {"amount": n + 0.5}}
        answer = http.post(f"{server.url}/api/v1/events/ingest", json=event, headers=AUTH, timeout=10).json()
        known["event_id"].append(answer["eventId"])
        known["customer_id"].append(event["customerId"])
        known["dispatch_id"].append(answer["actionsDispatched"][0]["dispatchId"])
    return known


def test_the_fuzzed_document_is_the_served_one(server, http):
    response = http.get(f"{server.url}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == openapi_document()


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operation_never_fails_and_matches_its_schema(case, server, http, known_ids):
    for name, ids in known_ids.items():
        if name in (case.path_parameters or {}):
            pick = zlib.crc32(str(case.path_parameters[name]).encode()) % (2 * KNOWN)
            if pick < KNOWN:
                case.path_parameters[name] = ids[pick]
    case.headers = {**(case.headers or {}), **AUTH}
    response = case.call_and_validate(base_url=server.url, session=http, checks=CHECKS, timeout=10)
    cases[server.backend, case.operation.label] += 1
    statuses[response.status_code] += 1


def test_every_operation_was_fuzzed_on_every_backend():
    """Runs after the fuzzing above (pytest keeps file order): every operation got real traffic."""
    operations = {f"{method.upper()} {path}" for path, item in openapi_document()["paths"].items() for method in item}
    assert set(cases) == {(backend, operation) for backend in BACKENDS for operation in operations}
    assert min(cases.values()) >= 10, cases
    print(f"\nFIGURES fuzz: requests={sum(cases.values())} per-backend="
          f"{ {b: sum(n for (k, _), n in cases.items() if k == b) for b in BACKENDS} } "
          f"per-operation={ {op: sum(n for (_, o), n in cases.items() if o == op) for op in sorted(operations)} } "
          f"statuses={dict(sorted(statuses.items()))}")


def _loopback_only(send):
    """Fuzzed webhook URLs must never send traffic off this machine, whatever the SSRF guard decides."""
    async def guarded(self, delivery, timeout):
        if urlsplit(delivery.target).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise WebhookRefused("the fuzz run sends webhooks to loopback only")
        return await send(self, delivery, timeout)
    return guarded
