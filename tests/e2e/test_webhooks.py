"""Webhook actions against a local receiver: Standard Webhooks signatures, retries, dead letters, egress."""

import asyncio
import base64
import hashlib
import hmac
import secrets
import time

import orjson
import pytest

from interfaces.keys import DISPATCH_LOG
from tests.e2e.ingest_helpers import create_trigger, eventually, ingest, start_api, unstreamed_ids
from tests.e2e.receivers import Receiver

HOOK_SECRET_KEY = secrets.token_bytes(24)
HOOK_SECRET = "whsec_" + base64.b64encode(HOOK_SECRET_KEY).decode()


def verify(request: dict) -> dict:
    """Checks the signature as a Standard Webhooks consumer would; returns the payload."""
    headers = request["headers"]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(HOOK_SECRET_KEY, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    return orjson.loads(request["body"])


def history(api, dispatch_id: str) -> list[str]:
    """The dispatch's attempts' outcomes, then its status: ["failed", "delivered", "delivered"]."""
    record = api.client.app[DISPATCH_LOG].get(api.tenant, dispatch_id)
    return [] if record is None else [a["outcome"] for a in record.attempts] + [record.state.status]


async def webhook_api(aiohttp_client, tmp_path, database_url, **overrides):
    overrides = {"retry_schedule": "0.05,0.1,0.2,0.2,0.2,0.2,0.2", "dispatch_deadline_s": 0.5, **overrides}
    return await start_api(aiohttp_client, tmp_path, database_url, "none", **overrides)


async def test_a_webhook_is_signed_and_carries_the_dispatch_id(aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver()
    api = await webhook_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, name="crm", eventType="support_call", actionType="webhook",
                                   actionConfig={"url": await receive(receiver), "method": "PUT",
                                                 "headers": {"X-Crm": "acme"}, "secret": HOOK_SECRET})

    answer = await ingest(api, "support_call", "CUST-3", channel="phone", data={"reason": "billing"})

    [dispatched] = answer["actionsDispatched"]
    assert dispatched["config"] == {"url": trigger["actionConfig"]["url"], "method": "PUT",
                                    "headers": {"X-Crm": "********"}}  # header values are write-only
    [request] = receiver.requests
    assert request["method"] == "PUT" and request["headers"]["X-Crm"] == "acme"
    assert request["headers"]["webhook-id"] == dispatched["dispatchId"]
    assert request["headers"]["Content-Type"] == "application/json"
    payload = verify(request)
    assert payload["dispatchId"] == dispatched["dispatchId"] and payload["tenantId"] == api.tenant
    assert payload["trigger"] == {"id": trigger["id"], "name": "crm", "version": 1}
    assert payload["event"]["id"] == answer["eventId"] and payload["event"]["data"] == {"reason": "billing"}
    assert "secret" not in payload["config"]
    await eventually(lambda: history(api, dispatched["dispatchId"]) == ["delivered", "delivered"], timeout=5)


async def test_a_failed_first_attempt_is_reported_and_retried_with_the_same_id(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(answers=[500])
    api = await webhook_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, actionType="webhook",
                                   actionConfig={"url": await receive(receiver), "secret": HOOK_SECRET})

    answer = await ingest(api)

    assert answer["actionsDispatched"] == []
    [error] = answer["actionErrors"]
    assert set(error) == {"triggerId", "actionType", "dispatchId", "error"}
    assert error["triggerId"] == trigger["id"] and error["actionType"] == "webhook" and "500" in error["error"]
    await eventually(lambda: len(receiver.requests) >= 2, timeout=5, message="the relay's retry")
    assert receiver.ids == [error["dispatchId"]] * 2
    assert [verify(r)["dispatchId"] for r in receiver.requests] == [error["dispatchId"]] * 2
    await eventually(lambda: history(api, error["dispatchId"]) == ["failed", "delivered", "delivered"],
                     timeout=5, message="the delivered outcome")
    assert unstreamed_ids(api) == {answer["eventId"]}  # the stream is off: only the event still waits
    assert len(receiver.requests) == 2


async def test_a_webhook_that_always_fails_is_declared_dead(aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(answers=[503] * 100)
    api = await webhook_api(aiohttp_client, tmp_path, database_url, retry_schedule="0.05,0.1")
    await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    answer = await ingest(api)

    dispatch_id = answer["actionErrors"][0]["dispatchId"]
    await eventually(lambda: history(api, dispatch_id)[-1:] == ["dead"], timeout=10, message="a dead letter")
    assert history(api, dispatch_id) == ["failed", "failed", "failed", "dead"]
    assert receiver.ids == [dispatch_id] * 3
    assert unstreamed_ids(api) == {answer["eventId"]}  # the stream is off: only the event still waits


async def test_a_slow_webhook_does_not_hold_the_response_past_the_deadline(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(delay_s=5)
    api = await webhook_api(aiohttp_client, tmp_path, database_url, retry_schedule="0.05",
                            dispatch_deadline_s=2.0)
    trigger = await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    started = time.monotonic()
    answer = await ingest(api)
    elapsed = time.monotonic() - started
    receiver.release.set()

    assert elapsed < 3
    assert [e["triggerId"] for e in answer["actionErrors"]] == [trigger["id"]]
    assert "no answer within" in answer["actionErrors"][0]["error"]


async def test_a_webhook_slower_than_the_first_retry_is_not_sent_twice_and_idempotent_requests_answer(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(delay_s=0.3)
    # The hook answers well inside the deadline, even on a loaded machine (0.5 s left 0.2 s to spare,
    # and the hook once missed it in a full run), and still later than the first retry (0.05 s).
    api = await webhook_api(aiohttp_client, tmp_path, database_url, dispatch_deadline_s=1.5)
    await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    answer = await ingest(api, headers={"Idempotency-Key": "slow-hook"})

    assert len(answer["actionsDispatched"]) == 1, answer  # the whole answer, should the hook have failed
    [dispatched] = answer["actionsDispatched"]
    await eventually(lambda: history(api, dispatched["dispatchId"]) == ["delivered", "delivered"], timeout=5)
    await asyncio.sleep(2.0)  # past deadline and grace: the relay must find the dispatch recorded, not send it again
    assert receiver.ids == [dispatched["dispatchId"]]
    assert await ingest(api, headers={"Idempotency-Key": "slow-hook"}) == answer


@pytest.mark.parametrize("host, reason", [
    ("127.0.0.1", "127.0.0.1 is not a public address"), ("localhost", "localhost is not a public address"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is not a public address"),
    ("2130706433", "2130706433 is not a public address"),  # 127.0.0.1 in decimal: refused before any lookup
])
async def test_private_webhooks_are_refused_unless_allowed(aiohttp_client, tmp_path, database_url, receive, host,
                                                           reason):
    receiver = Receiver()
    api = await webhook_api(aiohttp_client, tmp_path, database_url, webhook_allow_private=False)
    url = (await receive(receiver)).replace("127.0.0.1", host)
    await create_trigger(api, actionType="webhook", actionConfig={"url": url})

    answer = await ingest(api)

    [error] = answer["actionErrors"]
    assert reason in error["error"]
    await eventually(lambda: history(api, error["dispatchId"]) == ["failed", "dead"], timeout=5,
                     message="dead at once: no retry heals a refused address")
    assert receiver.requests == []
