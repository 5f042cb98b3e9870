"""A webhook's secret and header values are write-only: no endpoint returns them, no log line carries
them, no payload includes the secret.

Logs are captured through create, update, every read, a dry run, a delivered and a dead dispatch, the
dispatch log, and a database error on the statement that writes the event log.
"""

import base64
import logging
import secrets
import sqlite3
from contextlib import closing
from aiohttp import web

from interfaces.app import create_app
from interfaces.keys import DISPATCH_LOG
from tests.api import Caller, make_settings, random_tenant
from tests.faults.load import until
from tests.servers import free_port


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def test_a_webhook_secret_never_leaves_the_service(aiohttp_client, aiohttp_server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    first_secret, second_secret = new_secret(), new_secret()
    header_value = "Bearer " + secrets.token_hex(16)
    received = []

    async def handle(request: web.Request) -> web.Response:
        received.append(repr(dict(request.headers)) + (await request.text()))
        return web.Response()
    hook_app = web.Application()
    hook_app.router.add_post("/hook", handle)
    hook = await aiohttp_server(hook_app, host="127.0.0.1")
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/tripcord.db", webhook_allow_private=True,
                             dispatch_deadline_s=1.0, retry_schedule="0.05")
    api = Caller(await aiohttp_client(create_app(settings)), random_tenant())
    answers = []

    async def call(method: str, path: str, expect: int = 200, **kwargs) -> dict:
        response = await api.request(method, path, **kwargs)
        answers.append(await response.text())
        assert response.status == expect, answers[-1]
        return await response.json()

    delivered = await call("POST", "/api/v1/triggers", 201, json={
        "name": "delivered", "eventType": "purchase", "actionType": "webhook",
        "actionConfig": {"url": str(hook.make_url("/hook")), "secret": first_secret,
                         "headers": {"Authorization": header_value}}})
    failing = await call("POST", "/api/v1/triggers", 201, json={
        "name": "failing", "eventType": "purchase", "actionType": "webhook",
        "actionConfig": {"url": f"http://127.0.0.1:{free_port()}/down", "secret": first_secret}})
    await call("PUT", f"/api/v1/triggers/{failing['id']}", json={
        "actionConfig": {"url": f"http://127.0.0.1:{free_port()}/down", "secret": second_secret}})
    for trigger in (delivered, failing):
        await call("GET", f"/api/v1/triggers/{trigger['id']}")
        await call("GET", f"/api/v1/triggers/{trigger['id']}?version=1")
        await call("GET", f"/api/v1/triggers/{trigger['id']}/history")
        await call("POST", f"/api/v1/triggers/{trigger['id']}/test", json={"eventPayload": {"amount": 1}})
    await call("GET", "/api/v1/triggers")
    await call("GET", "/api/v1/dispatches")
    ingested = await call("POST", "/api/v1/events/ingest", json={"type": "purchase", "customerId": "c1"})
    failed_id = ingested["actionErrors"][0]["dispatchId"]
    assert await until(lambda: _dead(api, failed_id), timeout=10)
    await call("GET", f"/api/v1/dispatches/{failed_id}")
    await call("GET", f"/api/v1/events/{ingested['eventId']}")
    metrics = await api.client.get("/metrics")
    answers.append(await metrics.text())
    # A write failing on the event log insert. closing(): the connection's own `with` commits, never closes.
    with closing(sqlite3.connect(tmp_path / "tripcord.db")) as database:
        database.execute("DROP TABLE tripcord_event_log")
    await call("POST", "/api/v1/events/ingest", 503, json={"type": "purchase", "customerId": "c2"})

    assert [m["triggerId"] for m in ingested["actionsDispatched"]] == [delivered["id"]]
    assert len(received) == 1 and "webhook-signature" in received[0] and header_value in received[0]
    assert any(r.getMessage() == "database unavailable" for r in caplog.records)
    logged = caplog.text + "".join(repr(vars(record)) for record in caplog.records)
    for secret in (first_secret, second_secret):
        for where, text in [("responses", "".join(answers)), ("logs", logged), ("webhook", "".join(received))]:
            assert secret not in text and secret.removeprefix("whsec_") not in text, f"the secret is in the {where}"
    for where, text in [("responses", "".join(answers)), ("logs", logged)]:
        assert header_value not in text, f"the header value is in the {where}"


def _dead(api: Caller, dispatch_id: str) -> bool:
    record = api.client.app[DISPATCH_LOG].get(api.tenant, dispatch_id)
    return record is not None and record.state.status == "dead"
