"""The Event Ingestion API (seed 000) on SQLite and PostgreSQL with a real JetStream."""

import asyncio

import orjson
import pytest
from sqlalchemy import func, select

from infrastructure.sql.tables import event_log
from interfaces.keys import DATABASE, EVENT_LOG
from tests.e2e.ingest_helpers import (INGEST, StreamProbe, create_trigger, eventually, ingest, matched_ids,
                                      dispatch_statuses, start_api, unstreamed_ids)

SEED_KEYS = {"ingested", "eventType", "customerId", "streamId", "triggersMatched", "actionsDispatched"}


@pytest.fixture
async def live(aiohttp_client, tmp_path, database_url, nats_url):
    return await start_api(aiohttp_client, tmp_path, database_url, nats_url)


def recorded_events(api, event_id: str) -> int:
    return int(api.client.app[EVENT_LOG].find(api.tenant, event_id) is not None)


def tenant_events(api) -> int:
    with api.client.app[DATABASE].reading() as connection:
        return connection.execute(select(func.count()).where(event_log.c.tenant_id == api.tenant)).scalar()


# -- validation -----------------------------------------------------------------------------

BAD_BODIES = [
    ("type outside the five", {"type": "refund", "customerId": "c1"}),
    ("type missing", {"customerId": "c1"}),
    ("internal type", {"type": "outcome.recorded", "customerId": "c1"}),
    ("customerId missing", {"type": "purchase"}),
    ("customerId empty", {"type": "purchase", "customerId": ""}),
    ("customerId 257 chars", {"type": "purchase", "customerId": "c" * 257}),
    ("customerId a number", {"type": "purchase", "customerId": 42}),
    ("data a list", {"type": "purchase", "customerId": "c1", "data": [1, 2]}),
    ("data a string", {"type": "purchase", "customerId": "c1", "data": "amount=5"}),
    ("channel a number", {"type": "purchase", "customerId": "c1", "channel": 7}),
    ("channel an object", {"type": "purchase", "customerId": "c1", "channel": {"web": True}}),
    ("timestamp not a date", {"type": "purchase", "customerId": "c1", "timestamp": "yesterday"}),
    ("timestamp an integer", {"type": "purchase", "customerId": "c1", "timestamp": 1700000000}),
    ("timestamp out of range after UTC", {"type": "purchase", "customerId": "c1",
                                          "timestamp": "0001-01-01T00:00:00+01:00"}),
    ("timestamp out of range before UTC", {"type": "purchase", "customerId": "c1",
                                           "timestamp": "9999-12-31T23:59:59-01:00"}),
    ("unknown field", {"type": "purchase", "customerId": "c1", "amount": 5}),
]


def assert_error_body(status: int, body: dict, expected: int) -> None:
    assert status == expected, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body


async def test_invalid_bodies_are_400_with_field_details(live):
    for case, body in BAD_BODIES:
        response = await live.request("POST", INGEST, json=body)
        answer = await response.json()
        assert_error_body(response.status, answer, 400)
        assert answer["error"]["details"], case
    assert tenant_events(live) == 0


async def test_customer_id_of_256_chars_is_accepted(live):
    answer = await ingest(live, customer="c" * 256)

    assert answer["customerId"] == "c" * 256


@pytest.mark.parametrize("content, content_type, status", [
    (b'{"type": "purchase", "customerId": ', "application/json", 400),
    (b"[1, 2, 3]", "application/json", 400),
    (b'{"type": "purchase", "customerId": "c1"}', "text/plain", 415),
    (b'{"type": "purchase", "customerId": "c1"}', "application/x-www-form-urlencoded", 415),
    (orjson.dumps({"type": "purchase", "customerId": "c1", "data": {"pad": "x" * 66_000}}),
     "application/json", 413),
])
async def test_unreadable_bodies_get_the_standard_error(live, content, content_type, status):
    response = await live.request("POST", INGEST, data=content, headers={"Content-Type": content_type})

    assert_error_body(response.status, await response.json(), status)


# -- the response, the stream and the store ------------------------------------------------

async def test_response_is_the_seed_s_plus_event_id_and_the_stream_got_the_event(live, nats_url):
    subject = f"tripcord.events.{live.tenant}.purchase"
    async with StreamProbe(nats_url) as probe:
        subscription = await probe.js.subscribe(subject, ordered_consumer=True, deliver_policy="new")
        answer = await ingest(live, "purchase", "CUST-001", channel="pos",
                              timestamp="2026-02-20T11:00:00+01:00",
                              data={"orderId": "ORD-789", "amount": 49.99})
        message = await subscription.next_msg(timeout=5)

    assert set(answer) == SEED_KEYS | {"eventId", "streamSequence"}
    assert answer["ingested"] is True and answer["eventType"] == "purchase" and answer["customerId"] == "CUST-001"
    assert answer["eventId"].startswith("evt_") and answer["streamId"] == answer["eventId"]
    assert answer["streamSequence"] == message.metadata.sequence.stream
    assert answer["triggersMatched"] == [] and answer["actionsDispatched"] == []
    assert message.subject == subject
    assert message.headers["Nats-Msg-Id"] == answer["eventId"]
    assert message.headers["Content-Type"] == "application/json"
    body = orjson.loads(message.data)
    assert set(body) == {"id", "tenantId", "type", "customerId", "channel", "timestamp", "receivedAt", "data",
                         "triggerEventTypes"}
    assert body["id"] == answer["eventId"] and body["tenantId"] == live.tenant and body["type"] == "purchase"
    assert body["customerId"] == "CUST-001" and body["channel"] == "pos"
    assert body["timestamp"] == "2026-02-20T10:00:00.000Z"
    assert body["receivedAt"].endswith("Z") and body["data"] == {"orderId": "ORD-789", "amount": 49.99}
    assert body["triggerEventTypes"] == ["purchase", "outcome.recorded"]


async def test_omitted_fields_get_defaults_in_the_stream_body(live, nats_url):
    answer = await ingest(live, "page_view", "c9")

    async with StreamProbe(nats_url) as probe:
        [message] = await probe.messages(f"tripcord.events.{live.tenant}.page_view")
    body = orjson.loads(message.data)
    assert body["id"] == answer["eventId"] and body["channel"] is None and body["data"] == {}
    assert body["timestamp"] == body["receivedAt"] and body["triggerEventTypes"] == ["page_view"]


async def test_the_event_is_in_the_event_store_when_the_response_arrives(live):
    answer = await ingest(live, "cart_abandon", "c2", data={"cartValue": 129.99})

    recorded = live.client.app[EVENT_LOG].find(live.tenant, answer["eventId"]).event

    assert recorded.tenant_id == live.tenant and recorded.event_id == answer["eventId"]
    assert recorded.body["data"] == {"cartValue": 129.99}
    assert recorded.body["triggerEventTypes"] == ["cart_abandon", "customer.updated"]


async def test_a_nats_action_reaches_its_subject_with_the_dispatch_id(live, nats_url):
    trigger = await create_trigger(live, name="upsell", actionType="recommend",
                                   actionConfig={"decisionFlowId": "df_upsell", "channel": "push"})

    answer = await ingest(live, "purchase", "CUST-7", data={"amount": 10})

    [dispatched] = answer["actionsDispatched"]
    assert answer["triggersMatched"] == [{"triggerId": trigger["id"], "actionType": "recommend"}]
    assert dispatched == {"triggerId": trigger["id"], "actionType": "recommend",
                          "dispatchId": dispatched["dispatchId"],
                          "config": {"decisionFlowId": "df_upsell", "channel": "push"}}
    assert dispatched["dispatchId"].startswith("dsp_") and "actionErrors" not in answer
    async with StreamProbe(nats_url) as probe:
        [message] = await probe.messages(f"tripcord.actions.{live.tenant}.recommend")
    assert message.headers["Nats-Msg-Id"] == dispatched["dispatchId"]
    payload = orjson.loads(message.data)
    assert set(payload) == {"dispatchId", "tenantId", "trigger", "event", "config", "dispatchedAt"}
    assert payload["dispatchId"] == dispatched["dispatchId"] and payload["tenantId"] == live.tenant
    assert payload["trigger"] == {"id": trigger["id"], "name": "upsell", "version": 1}
    assert payload["event"]["id"] == answer["eventId"] and payload["event"]["data"] == {"amount": 10}
    assert payload["config"] == {"decisionFlowId": "df_upsell", "channel": "push"}
    assert payload["dispatchedAt"] == payload["event"]["receivedAt"]


async def test_journey_enroll_is_delivered_as_enroll_journey(live, nats_url):
    trigger = await create_trigger(live, eventType="cart_abandon", actionType="journey_enroll",
                                   actionConfig={"journeyId": "j_recover"})

    answer = await ingest(live, "cart_abandon", "c3")

    assert answer["triggersMatched"] == [{"triggerId": trigger["id"], "actionType": "enroll_journey"}]
    async with StreamProbe(nats_url) as probe:
        ids = await probe.ids(f"tripcord.actions.{live.tenant}.enroll_journey")
    assert ids == [answer["actionsDispatched"][0]["dispatchId"]]


# -- evaluation -----------------------------------------------------------------------------

async def test_internal_types_fire_on_their_ingest_types_only(live):
    outcome = await create_trigger(live, name="outcome", eventType="outcome.recorded")
    updated = await create_trigger(live, name="updated", eventType="customer.updated")

    fired = {t: matched_ids(await ingest(live, t, "c1"))
             for t in ("purchase", "cart_abandon", "support_call", "page_view", "app_open")}

    assert fired == {"purchase": [outcome["id"]], "cart_abandon": [updated["id"]],
                     "support_call": [updated["id"]], "page_view": [], "app_open": []}


async def test_matches_are_in_priority_order_then_oldest_first_across_types(live):
    low = await create_trigger(live, name="low", eventType="purchase", priority=10)
    internal_high = await create_trigger(live, name="internal high", eventType="outcome.recorded", priority=90)
    own_tie_old = await create_trigger(live, name="tie old", eventType="purchase", priority=50)
    internal_tie_new = await create_trigger(live, name="tie new", eventType="outcome.recorded", priority=50)
    await create_trigger(live, name="unrelated", eventType="app_open", priority=99)

    answer = await ingest(live, "purchase", "c1")

    expected = [internal_high["id"], own_tie_old["id"], internal_tie_new["id"], low["id"]]
    assert matched_ids(answer) == expected
    assert [a["triggerId"] for a in answer["actionsDispatched"]] == expected


async def test_a_paused_trigger_does_not_fire_and_fires_again_once_reactivated(live):
    trigger = await create_trigger(live, status="paused")
    assert matched_ids(await ingest(live)) == []

    await live.json("PUT", f"/api/v1/triggers/{trigger['id']}", json={"status": "active"})
    assert matched_ids(await ingest(live)) == [trigger["id"]]

    await live.json("PUT", f"/api/v1/triggers/{trigger['id']}", json={"status": "paused"})
    assert matched_ids(await ingest(live)) == []


async def test_a_deleted_trigger_does_not_fire(live):
    trigger = await create_trigger(live)
    await live.json("DELETE", f"/api/v1/triggers/{trigger['id']}", expect=204)

    assert matched_ids(await ingest(live)) == []


async def test_a_condition_miss_does_not_fire(live):
    trigger = await create_trigger(live, condition={"all": [
        {"field": "amount", "operator": "greater_than", "value": 500},
        {"field": "$channel", "operator": "equals", "value": "pos"}]})

    misses = [await ingest(live, data={"amount": 100}, channel="pos"),
              await ingest(live, data={"amount": 900}, channel="web"),
              await ingest(live, data={"amount": "900"}, channel="pos"),
              await ingest(live, data={}, channel="pos")]
    hit = await ingest(live, data={"amount": 900}, channel="pos")

    assert [matched_ids(a) for a in misses] == [[], [], [], []]
    assert matched_ids(hit) == [trigger["id"]]


# -- idempotency ----------------------------------------------------------------------------

async def test_a_repeated_idempotency_key_returns_the_first_answer_and_ingests_nothing(live, nats_url):
    await create_trigger(live)
    key = {"Idempotency-Key": "order-789-paid"}

    first = await ingest(live, data={"amount": 1}, headers=key)
    again = await ingest(live, data={"amount": 1}, headers=key)
    other = await ingest(live, data={"amount": 2}, headers=key, expect=422)

    assert again == first and len(first["actionsDispatched"]) == 1
    assert other["error"]["code"] == "idempotency_key_reused"
    assert tenant_events(live) == 1
    async with StreamProbe(nats_url) as probe:
        assert await probe.ids(f"tripcord.events.{live.tenant}.>") == [first["eventId"]]
        assert await probe.ids(f"tripcord.actions.{live.tenant}.>") == [first["actionsDispatched"][0]["dispatchId"]]


async def test_concurrent_repeats_of_one_key_ingest_once(live):
    key = {"Idempotency-Key": "burst"}

    responses = await asyncio.gather(*(live.request("POST", INGEST, headers=key,
                                                    json={"type": "purchase", "customerId": "c1"})
                                       for _ in range(5)))
    answers = [(r.status, await r.json()) for r in responses]

    assert {status for status, _ in answers} <= {200, 409}, answers
    assert len({a["eventId"] for status, a in answers if status == 200}) == 1
    assert tenant_events(live) == 1
    assert (await ingest(live, customer="c1", headers=key))["eventId"] == next(a["eventId"] for s, a in answers if s == 200)


async def test_the_same_key_in_two_tenants_is_two_events(live):
    other = live.as_("admin", tenant=live.tenant + "b")
    key = {"Idempotency-Key": "shared-key"}

    mine = await ingest(live, headers=key)
    theirs = await ingest(other, headers=key)

    assert mine["eventId"] != theirs["eventId"]
    assert tenant_events(live) == 1 and tenant_events(other) == 1


async def test_a_malformed_idempotency_key_is_400(live):
    response = await live.request("POST", INGEST, headers={"Idempotency-Key": "has space"},
                                  json={"type": "purchase", "customerId": "c1"})

    assert_error_body(response.status, await response.json(), 400)


# -- without a stream -----------------------------------------------------------------------

async def test_without_a_stream_the_event_waits_unstreamed_and_the_dispatch_retries(aiohttp_client, tmp_path,
                                                                                    database_url):
    api = await start_api(aiohttp_client, tmp_path, database_url, "none")
    trigger = await create_trigger(api)

    answer = await ingest(api)

    assert answer["streamId"] is None and answer["streamSequence"] is None
    assert matched_ids(answer) == [trigger["id"]] and answer["actionsDispatched"] == []
    [error] = answer["actionErrors"]
    assert error["triggerId"] == trigger["id"] and "disabled" in error["error"]
    await eventually(lambda: dispatch_statuses(api) == {error["dispatchId"]: "retrying"}, timeout=5)
    assert unstreamed_ids(api) == {answer["eventId"]}
