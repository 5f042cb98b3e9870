"""Holes a review found, each closed: claim types, metrics, numbers, keys, clashes, rates and limits."""

import asyncio
import time

import jwt
import orjson
import pytest
from aiohttp import web
from eventsourcing.persistence import IntegrityError
from prometheus_client.parser import text_string_to_metric_families

from application.records import LoggedEvent, UnitOfWork
from domain.idempotency import HEADER, KeyClaim, fingerprint
from infrastructure.auth import TokenAuthority
from interfaces.app import create_app
from interfaces.keys import INGESTION, RECORDER
from tests.api import JWT_SECRET, Caller, make_settings, random_tenant
from tests.e2e.ingest_helpers import StreamProbe, create_trigger, eventually, ingest, start_api
from tests.e2e.receivers import Receiver

INGEST = "/api/v1/events/ingest"
EVENT = {"type": "purchase", "customerId": "c1", "data": {"amount": 10}}


def raw_token(**claims) -> str:
    return jwt.encode({"sub": "app", "roles": ["admin"], "tenants": ["*"], **claims}, JWT_SECRET, algorithm="HS256")


@pytest.mark.parametrize("claims", [{"exp": str(int(time.time()) + 600)}, {"exp": float(int(time.time()) + 600)},
                                    {"exp": True}, {"exp": int(time.time()) + 600, "iat": "0"},
                                    {"exp": int(time.time()) + 600, "nbf": [0]}])
async def test_a_numeric_claim_of_another_type_is_a_401_on_every_use(api, claims):
    headers = {"Authorization": f"Bearer {raw_token(**claims)}", "X-Tenant-Id": api.tenant}

    answers = [await api.client.post(INGEST, json=EVENT, headers=headers) for _ in range(3)]

    assert [a.status for a in answers] == [401, 401, 401]
    assert [(await a.json())["error"]["code"] for a in answers] == ["unauthorized"] * 3


async def test_metrics_name_no_tenant_trigger_or_customer(api):
    trigger = await create_trigger(api)
    await ingest(api, customer="CUST-SECRET-42")

    exposition = await (await api.client.get("/metrics")).text()

    assert api.tenant not in exposition and trigger["id"] not in exposition and "CUST-SECRET-42" not in exposition
    labels = {name for family in text_string_to_metric_families(exposition) for sample in family.samples
              for name in sample.labels}
    assert labels <= {"method", "route", "status", "type", "action_type", "outcome", "reason", "le"}


async def test_metrics_ask_for_their_token_when_one_is_set(aiohttp_client, tmp_path, sqlite_url):
    client = await aiohttp_client(create_app(make_settings(tmp_path, sqlite_url, metrics_token="scrape-me")))

    missing = await client.get("/metrics")
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    right = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})

    assert (missing.status, wrong.status, right.status) == (401, 401, 200)
    assert (await wrong.json())["error"]["code"] == "unauthorized"
    assert "tripcord_http_requests_total" in await right.text()


@pytest.mark.parametrize("number, status", [("18446744073709551616", 400), ("-9223372036854775809", 400),
                                            ("123456789012345678901234567890", 400), ("18446744073709551615", 200),
                                            ("-9223372036854775808", 200), ('"123456789012345678901234567890"', 200),
                                            ("12345678901234567890.5", 200)])
async def test_an_integer_beyond_64_bits_is_a_400_not_a_float(api, number, status):
    body = b'{"type": "purchase", "customerId": "c1", "data": {"n": ' + number.encode() + b'}}'

    response = await api.request("POST", INGEST, data=body, headers={"Content-Type": "application/json"})

    assert response.status == status, await response.text()
    if status == 200:
        event = await api.json("GET", f"/api/v1/events/{(await response.json())['eventId']}")
        assert event["event"]["data"]["n"] == orjson.loads(number)


async def first_request_died(api, key: str, event: dict, lease_until_ms: int) -> str:
    """What a request leaves when it died after its commit: the key and the event, and no answer."""
    now_ms = int(time.time() * 1000)
    event_id = f"evt_died{now_ms:016x}"
    body = {"id": event_id, "tenantId": api.tenant, "type": event["type"], "customerId": event["customerId"],
            "channel": None, "timestamp": "2026-12-01T00:00:00.000Z", "receivedAt": "2026-12-01T00:00:00.000Z",
            "data": event["data"], "triggerEventTypes": ["purchase", "outcome.recorded"]}
    claim = KeyClaim(api.tenant, HEADER, key, fingerprint({**event, "channel": None, "timestamp": None}), event_id,
                     now_ms, lease_until_ms)
    await api.client.app[RECORDER]([UnitOfWork(logged=[LoggedEvent(api.tenant, event_id, "c1", "purchase", now_ms,
                                                                    body)], claims=[claim])])
    return event_id


async def test_a_key_whose_request_died_is_answered_from_the_recorded_event_once_its_lease_ends(api):
    key = {"Idempotency-Key": "died-after-commit"}
    event_id = await first_request_died(api, key["Idempotency-Key"], EVENT, int(time.time() * 1000) - 1)

    answer = await ingest(api, "purchase", "c1", headers=key, data={"amount": 10})
    again = await ingest(api, "purchase", "c1", headers=key, data={"amount": 10})

    assert answer["eventId"] == event_id and again == answer
    assert (await api.json("GET", "/api/v1/customers/c1/events"))["data"][0]["eventId"] == event_id


async def test_a_key_in_its_lease_is_a_409_with_retry_after_and_another_body_a_422(api):
    key = {"Idempotency-Key": "still-running"}
    await first_request_died(api, key["Idempotency-Key"], EVENT, int(time.time() * 1000) + 20_000)

    waiting = await api.request("POST", INGEST, json=EVENT, headers=key)
    other = await api.request("POST", INGEST, json={**EVENT, "data": {"amount": 11}}, headers=key)

    assert waiting.status == 409 and (await waiting.json())["error"]["code"] == "request_in_progress"
    assert 15 <= int(waiting.headers["Retry-After"]) <= 21
    assert other.status == 422 and (await other.json())["error"]["code"] == "idempotency_key_reused"


async def test_clashes_that_outlast_the_retries_are_a_409_with_retry_after_not_a_500(api, monkeypatch):
    async def always_clashes(unit):
        raise IntegrityError("version clash")
    monkeypatch.setattr(api.client.app[INGESTION], "commit", always_clashes)

    response = await api.request("POST", INGEST, json=EVENT)

    assert response.status == 409 and response.headers["Retry-After"] == "1"
    body = await response.json()
    assert body["error"]["code"] == "concurrent_change" and "Traceback" not in await response.text()


async def test_a_failing_system_call_is_named_not_blamed_on_the_database(api, monkeypatch):
    async def no_permission(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/var/lib/tripcord/secret-path")
    monkeypatch.setattr(api.client.app[INGESTION], "ingest", no_permission)

    response = await api.request("POST", INGEST, json=EVENT)
    body = await response.json()

    assert response.status == 503 and body["error"]["code"] == "system_error"
    assert "EACCES" in body["error"]["message"] and "secret-path" not in await response.text()


async def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_others_do_not(aiohttp_client, tmp_path,
                                                                                  sqlite_url):
    client = await aiohttp_client(create_app(make_settings(tmp_path, sqlite_url, tenant_rate=1, tenant_burst=2)))
    busy, quiet = Caller(client, random_tenant()), Caller(client, random_tenant())

    answers = [await busy.request("POST", INGEST, json=EVENT) for _ in range(3)]
    other = await quiet.request("POST", INGEST, json=EVENT)

    assert [a.status for a in answers] == [200, 200, 429] and other.status == 200
    assert answers[2].headers["Retry-After"] == "1"
    assert (await answers[2].json())["error"]["code"] == "rate_limited"


async def test_the_active_trigger_cap_is_a_409(aiohttp_client, tmp_path, sqlite_url):
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, max_triggers_per_tenant=2)
    await create_trigger(api)
    paused = await api.json("POST", "/api/v1/triggers", expect=201, json={
        "name": "p", "eventType": "purchase", "actionType": "recommend", "actionConfig": {"decisionFlowId": "d"},
        "status": "paused"})
    await create_trigger(api)

    over = await api.json("POST", "/api/v1/triggers", expect=409, json={
        "name": "x", "eventType": "purchase", "actionType": "recommend", "actionConfig": {"decisionFlowId": "d"}})
    reactivated = await api.json("PUT", f"/api/v1/triggers/{paused['id']}", expect=409, json={"status": "active"})

    assert over["error"]["code"] == reactivated["error"]["code"] == "limit_reached"


async def test_webhooks_to_one_host_share_a_bounded_number_of_connections(aiohttp_client, aiohttp_server, tmp_path,
                                                                          sqlite_url):
    in_flight, most = 0, 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return web.Response()
    hook = web.Application()
    hook.router.add_post("/hook", slow)
    url = str((await aiohttp_server(hook, host="127.0.0.1")).make_url("/hook"))
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, webhook_host_connections=2, dispatch_deadline_s=5)
    await create_trigger(api, actionType="webhook", actionConfig={"url": url})

    answers = await asyncio.gather(*(ingest(api, customer=f"c{n}") for n in range(6)))

    assert all(a["actionsDispatched"] for a in answers)
    assert most == 2


async def test_the_streams_keep_messages_a_week_by_default(aiohttp_client, tmp_path, sqlite_url, throwaway_nats):
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, throwaway_nats.url)
    await ingest(api)

    async with StreamProbe(throwaway_nats.url) as probe:
        configs = [(await probe.js.stream_info(name)).config for name in ("TRIPCORD_EVENTS", "TRIPCORD_ACTIONS")]

    assert [(c.max_age, c.num_replicas) for c in configs] == [(7 * 86400.0, 1)] * 2


async def test_a_receiver_refusing_every_delivery_is_marked_dead_without_holding_the_answer(
        aiohttp_client, tmp_path, sqlite_url, receive):
    receiver = Receiver(then=500)
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, retry_schedule="0.05")
    await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    started = time.monotonic()
    answer = await ingest(api)

    assert time.monotonic() - started < 1.5 and "500" in answer["actionErrors"][0]["error"]
    await eventually(lambda: len(receiver.requests) == 2, timeout=5, message="one retry")


def test_a_minted_ingest_token_carries_the_ingest_role():
    token = TokenAuthority(JWT_SECRET).mint("website", ["ingest"], ["acme"], 60)

    assert TokenAuthority(JWT_SECRET).verify(token).roles == {"ingest"}


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
async def test_numbers_json_does_not_have_are_a_400(api, number):
    body = b'{"type": "purchase", "customerId": "c1", "data": {"n": ' + number + b'}}'

    response = await api.request("POST", INGEST, data=body, headers={"Content-Type": "application/json"})

    assert response.status == 400 and (await response.json())["error"]["code"] == "bad_request"
