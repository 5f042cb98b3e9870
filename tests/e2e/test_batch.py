"""Batch ingestion: a result per event, bad events failing alone, message ids, one customer's order kept."""

import asyncio
import io

import orjson
import pytest

from tests.e2e.ingest_helpers import StreamProbe, create_trigger, ingest, matched_ids, start_api

BATCH = "/api/v1/events/batch"


def event(customer: str = "c1", **fields) -> dict:
    return {"type": "purchase", "customerId": customer, "data": {"amount": 10}, **fields}


@pytest.fixture
async def live(aiohttp_client, tmp_path, database_url, nats_url):
    return await start_api(aiohttp_client, tmp_path, database_url, nats_url)


async def test_each_event_gets_the_single_ingest_answer_in_order_and_is_streamed(live, nats_url):
    trigger = await create_trigger(live)

    answer = await live.json("POST", BATCH, json={"events": [event(f"c{n}") for n in range(5)]})

    assert (answer["ingested"], answer["failed"]) == (5, 0)
    assert [r["customerId"] for r in answer["results"]] == [f"c{n}" for n in range(5)]
    assert all(r["streamId"] == r["eventId"] and matched_ids(r) == [trigger["id"]] for r in answer["results"])
    async with StreamProbe(nats_url) as probe:
        streamed = await probe.ids(f"tripcord.events.{live.tenant}.>")
    assert streamed == [r["eventId"] for r in answer["results"]]


async def test_a_bad_event_fails_alone(api):
    events = [event("ok1"), {"type": "refund", "customerId": "c"}, event("ok2", channel=7), event("ok3"),
              {"type": "purchase"}]

    answer = await api.json("POST", BATCH, json={"events": events})

    assert (answer["ingested"], answer["failed"]) == (2, 3)
    results = answer["results"]
    assert [r.get("customerId") for r in results] == ["ok1", None, None, "ok3", None]
    assert results[1]["error"]["code"] == "validation_error"
    assert [d["path"] for d in results[2]["error"]["details"]] == ["channel"]
    assert [d["path"] for d in results[4]["error"]["details"]] == ["customerId"]


async def test_one_customer_s_events_are_decided_in_their_order(api):
    trigger = await create_trigger(api, cooldownMs=3_600_000)

    answer = await api.json("POST", BATCH, json={"events": [event("c1", data={"n": n}) for n in range(6)]})

    assert [matched_ids(r) for r in answer["results"]] == [[trigger["id"]]] + [[]] * 5
    timeline = await api.json("GET", "/api/v1/customers/c1/events", params={"limit": 10})
    assert [e["event"]["data"]["n"] for e in timeline["data"]] == [5, 4, 3, 2, 1, 0]


async def test_a_message_id_deduplicates_within_and_across_batches_and_binds_its_body(api):
    first = await api.json("POST", BATCH, json={"events": [event("c1", messageId="m-1"), event("c2", messageId="m-2")]})
    again = await api.json("POST", BATCH, json={"events": [event("c1", messageId="m-1"), event("c3", messageId="m-3"),
                                                           event("c3", messageId="m-3"),
                                                           event("cX", messageId="m-2")]})

    assert again["results"][0] == first["results"][0]  # the first answer, nothing ingested again
    assert again["results"][1]["eventId"] and again["results"][2] == again["results"][1]  # repeated in one batch
    assert again["results"][3]["error"]["code"] == "idempotency_key_reused"
    assert (again["ingested"], again["failed"]) == (3, 1)
    timeline = await api.json("GET", "/api/v1/customers/c1/events")
    assert len(timeline["data"]) == 1
    assert await api.json("POST", "/api/v1/events/ingest", json=event("c1"), headers={"Idempotency-Key": "m-1"})


@pytest.mark.parametrize("body, status", [
    ({"events": []}, 400), ({"events": [event()] * 501}, 400), ({"events": "nope"}, 400), ({}, 400),
    ({"events": [event(data={"pad": "x" * 33_000})]}, 413),
    ({"events": [event(data={"pad": "x" * 30_000}) for _ in range(40)]}, 413),
])
async def test_an_envelope_out_of_bounds_fails_the_request(api, body, status):
    response = await api.request("POST", BATCH, data=io.BytesIO(orjson.dumps(body)),
                                 headers={"Content-Type": "application/json"})

    assert response.status == status, await response.text()
    assert (await response.json())["error"]["code"] in ("bad_request", "validation_error", "payload_too_large")


async def test_an_ingest_token_may_send_batches(api):
    answer = await api.as_("ingest").json("POST", BATCH, json={"events": [event()]})

    assert answer["ingested"] == 1


async def test_a_schema_fails_only_the_events_that_break_it(api):
    await api.json("PUT", "/api/v1/event-schemas/purchase", expect=201,
                   json={"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}})

    answer = await api.json("POST", BATCH, json={"events": [event("c1"), event("c2", data={}),
                                                           event("c3", data={"amount": "ten"})]})

    assert (answer["ingested"], answer["failed"]) == (1, 2)
    assert [d["path"] for d in answer["results"][1]["error"]["details"]] == ["data.amount"]
    assert [d["path"] for d in answer["results"][2]["error"]["details"]] == ["data.amount"]


async def test_concurrent_batches_for_one_customer_fire_a_cooldown_once(api):
    trigger = await create_trigger(api, cooldownMs=3_600_000)

    answers = await asyncio.gather(*(api.json("POST", BATCH, json={"events": [event("c1")] * 10}) for _ in range(4)))
    single = await ingest(api, customer="c1")

    fired = [m for a in answers for r in a["results"] for m in matched_ids(r)]
    assert fired == [trigger["id"]] and matched_ids(single) == []
