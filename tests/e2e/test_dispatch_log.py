"""Delivery a user can see and steer: the dispatch log, dead letters, resends, and what became of an event."""

import asyncio

import pytest

from tests.e2e.ingest_helpers import create_trigger, eventually, ingest, start_api
from tests.e2e.receivers import Receiver

DISPATCHES = "/api/v1/dispatches"


async def hook_api(aiohttp_client, tmp_path, database_url, schedule: str = "0.1,0.1", **overrides):
    return await start_api(aiohttp_client, tmp_path, database_url, "none", retry_schedule=schedule,
                           dispatch_deadline_s=0.5, **overrides)


async def dispatch(api, dispatch_id: str) -> dict:
    return await api.json("GET", f"{DISPATCHES}/{dispatch_id}")


async def until_status(api, dispatch_id: str, status: str, timeout: float = 10) -> dict:
    async def reached():
        found = await dispatch(api, dispatch_id)
        return found if found["status"] == status else None
    return await eventually(reached, timeout=timeout, interval=0.05, message=f"{dispatch_id} {status}")


async def stats(api, trigger_id: str) -> dict:
    return await api.json("GET", f"/api/v1/triggers/{trigger_id}/stats")


async def test_a_failing_receiver_shows_each_attempt_then_a_dead_letter_that_a_resend_delivers(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(then=500)
    api = await hook_api(aiohttp_client, tmp_path, database_url, schedule="0.3,0.3")
    trigger = await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    answer = await ingest(api)
    dispatch_id = answer["actionErrors"][0]["dispatchId"]
    retrying = await until_status(api, dispatch_id, "retrying")  # pending until its first attempt is recorded
    dead = await until_status(api, dispatch_id, "dead")
    stats_dead = await stats(api, trigger["id"])
    receiver.then = 200  # the receiver is fixed
    resent = await api.json("POST", f"{DISPATCHES}/{dispatch_id}/retry", expect=202, json={})
    delivered = await until_status(api, dispatch_id, "delivered")

    assert retrying["status"] == "retrying" and retrying["nextAttemptAt"] is not None
    assert [(a["outcome"], a["statusCode"], a["responseBody"]) for a in retrying["attempts"]] == [
        ("failed", 500, "answered 500")]
    assert len(dead["attempts"]) == 3 and dead["nextAttemptAt"] is None and dead["deliveredAt"] is None
    assert dead["lastError"] == "webhook answered HTTP 500 (no retry left after 3 attempts)"
    assert (dead["eventId"], dead["triggerId"], dead["triggerVersion"]) == (answer["eventId"], trigger["id"], 1)
    assert dead["target"] == trigger["actionConfig"]["url"] and dead["actionType"] == "webhook"
    assert resent["id"] == dispatch_id
    assert [a["outcome"] for a in delivered["attempts"]] == ["failed"] * 3 + ["delivered"]
    assert delivered["deliveredAt"] is not None
    assert receiver.ids == [dispatch_id] * 4  # the same webhook-id every time: receivers deduplicate on it
    assert (stats_dead["dead"], stats_dead["delivered"]) == (1, 0)
    after = await stats(api, trigger["id"])
    assert (after["fired"], after["dead"], after["delivered"], after["retrying"]) == (1, 0, 1, 0)
    listed = await api.json("GET", DISPATCHES, params={"status": "delivered"})
    assert [d["id"] for d in listed["data"]] == [dispatch_id]


async def test_a_receiver_down_for_several_retries_loses_nothing(aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(then=503)
    api = await hook_api(aiohttp_client, tmp_path, database_url, schedule="0.2,0.2,0.2,0.4,0.8,3,3")
    await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})

    answers = [await ingest(api, customer=f"c{n}") for n in range(6)]
    failed = {a["actionErrors"][0]["dispatchId"] for a in answers}
    await eventually(lambda: len(receiver.requests) >= 18, timeout=10, message="three failed rounds")
    receiver.then = 200  # back, long before the schedule runs out

    async def all_delivered():
        page = await api.json("GET", DISPATCHES)
        return {d["id"] for d in page["data"] if d["status"] == "delivered"} == failed
    await eventually(all_delivered, timeout=15, interval=0.1, message="every dispatch delivered")
    await asyncio.sleep(0.5)  # a second delivery would have come by now

    assert set(receiver.ids) == failed
    assert sorted(receiver.delivered) == sorted(failed)  # each delivered once, none lost


async def test_the_log_filters_and_pages_newest_first_and_stays_stable_as_dispatches_arrive(
        aiohttp_client, tmp_path, database_url, receive):
    api = await hook_api(aiohttp_client, tmp_path, database_url)
    ok = await create_trigger(api, name="ok", actionType="webhook",
                              actionConfig={"url": await receive(Receiver())})
    dead = await create_trigger(api, name="refused", actionType="webhook", priority=10,
                                actionConfig={"url": "http://127.0.0.1:9/hook"},
                                condition={"field": "amount", "operator": "greater_than", "value": 100})
    answers = []
    for n in range(5):
        answers.append(await ingest(api, customer=f"c{n % 2}", data={"amount": 50 + 50 * n}))
    ids = [d["dispatchId"] for a in answers for d in a["actionsDispatched"] + a.get("actionErrors", [])]
    await eventually(lambda: _listed(api, len(ids)), timeout=5, message="every first attempt recorded")

    first = await api.json("GET", DISPATCHES, params={"limit": 3})
    arrival = await ingest(api, customer="c9", data={"amount": 1})  # a new dispatch lands on top meanwhile
    second = await api.json("GET", DISPATCHES, params={"limit": 3, "cursor": first["nextCursor"]})
    third = await api.json("GET", DISPATCHES, params={"limit": 3, "cursor": second["nextCursor"]})

    paged = [d["id"] for page in (first, second, third) for d in page["data"]]
    assert sorted(paged) == sorted(ids) and len(paged) == len(ids) == 8
    created = [d["createdAt"] for page in (first, second, third) for d in page["data"]]
    assert created == sorted(created, reverse=True)
    assert third["nextCursor"] is None and arrival["actionsDispatched"]
    by_trigger = await api.json("GET", DISPATCHES, params={"triggerId": dead["id"]})
    assert {d["triggerId"] for d in by_trigger["data"]} == {dead["id"]} and len(by_trigger["data"]) == 3
    by_event = await api.json("GET", DISPATCHES, params={"eventId": answers[4]["eventId"]})
    assert {d["triggerId"] for d in by_event["data"]} == {ok["id"], dead["id"]}
    by_customer = await api.json("GET", DISPATCHES, params={"customerId": "c1"})
    assert {d["customerId"] for d in by_customer["data"]} == {"c1"} and len(by_customer["data"]) == 3
    assert (await api.json("GET", DISPATCHES, params={"actionType": "recommend"}))["data"] == []
    middle = sorted(created)[len(created) // 2]
    recent = (await api.json("GET", DISPATCHES, params={"since": middle, "limit": 50}))["data"]
    older = (await api.json("GET", DISPATCHES, params={"until": middle, "limit": 50}))["data"]
    assert recent and all(d["createdAt"] >= middle for d in recent)
    assert older and all(d["createdAt"] < middle for d in older)
    assert len(recent) + len(older) == len(ids) + 1  # the arrival counts too
    assert (await api.json("GET", DISPATCHES, params={"until": "2000-01-01T00:00:00Z"}))["data"] == []


@pytest.mark.parametrize("query", [{"status": "lost"}, {"since": "yesterday"}, {"limit": "0"}, {"limit": "201"},
                                   {"cursor": "not-a-cursor"}, {"actionType": "fax"}, {"colour": "red"}])
async def test_a_bad_filter_is_a_400(api, query):
    answer = await api.json("GET", DISPATCHES, params=query, expect=400)

    assert answer["error"]["code"] in ("bad_request", "validation_error")


async def test_resend_rules_and_the_role_and_tenant_they_need(aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver()
    api = await hook_api(aiohttp_client, tmp_path, database_url)
    await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})
    delivered = (await ingest(api))["actionsDispatched"][0]["dispatchId"]
    await until_status(api, delivered, "delivered")
    path = f"{DISPATCHES}/{delivered}/retry"

    refused = await api.json("POST", path, expect=409)
    forced = await api.json("POST", path, params={"force": "true"}, expect=202)
    await eventually(lambda: len(receiver.requests) == 2, timeout=5, message="the forced resend")
    other_tenant = api.as_("admin", tenant=api.tenant + "x")

    assert refused["error"]["code"] == "not_resendable" and "force=true" in refused["error"]["message"]
    assert forced["id"] == delivered and receiver.ids == [delivered, delivered]
    assert (await other_tenant.json("POST", path, expect=404))["error"]["code"] == "not_found"
    assert (await other_tenant.json("GET", f"{DISPATCHES}/{delivered}", expect=404))["error"]["code"] == "not_found"
    assert (await other_tenant.json("GET", DISPATCHES))["data"] == []
    await api.json("POST", f"{DISPATCHES}/dsp_nope_nope/retry", expect=404)
    await api.json("POST", path, expect=400, data=b'{"unexpected": 1}', headers={"Content-Type": "application/json"})
    await api.as_("ingest").json("GET", DISPATCHES, expect=403)
    await api.as_("editor").json("POST", f"{DISPATCHES}/retry", json={"status": "dead"}, expect=403)


async def test_a_bulk_resend_delivers_every_dead_dispatch_once(aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(then=500)
    api = await hook_api(aiohttp_client, tmp_path, database_url, schedule="0.05")
    trigger = await create_trigger(api, actionType="webhook", actionConfig={"url": await receive(receiver)})
    ids = [(await ingest(api, customer=f"c{n}"))["actionErrors"][0]["dispatchId"] for n in range(5)]
    for dispatch_id in ids:
        await until_status(api, dispatch_id, "dead")
    receiver.then, before = 200, len(receiver.requests)

    matched = await api.json("POST", f"{DISPATCHES}/retry", json={"status": "dead", "triggerId": trigger["id"]},
                             expect=202)
    for dispatch_id in ids:
        await until_status(api, dispatch_id, "delivered")
    await asyncio.sleep(0.5)  # a second copy would have been sent by now

    assert matched == {"matched": 5}
    assert sorted(receiver.ids[before:]) == sorted(ids)
    assert (await stats(api, trigger["id"]))["delivered"] == 5
    again = await api.json("POST", f"{DISPATCHES}/retry", json={"status": "dead"}, expect=202)
    assert again == {"matched": 0}


async def test_an_event_and_a_customer_tell_what_each_trigger_did(aiohttp_client, tmp_path, database_url):
    api = await start_api(aiohttp_client, tmp_path, database_url)
    once = await create_trigger(api, name="once an hour", cooldownMs=3_600_000, priority=90)
    always = await create_trigger(api, name="always", priority=10)

    first = await ingest(api, customer="c1", data={"amount": 1})
    second = await ingest(api, customer="c1", data={"amount": 2})
    await ingest(api, customer="c2")
    story = await api.json("GET", f"/api/v1/events/{second['eventId']}")
    page = await api.json("GET", "/api/v1/customers/c1/events", params={"limit": 1})
    rest = await api.json("GET", "/api/v1/customers/c1/events", params={"limit": 1, "cursor": page["nextCursor"]})

    assert story["eventId"] == second["eventId"] and story["event"]["data"] == {"amount": 2}
    assert story["event"]["customerId"] == "c1" and story["stream"] == {"published": False, "sequence": None}
    assert [(t["triggerId"], t["outcome"]) for t in story["triggers"]] == [(once["id"], "cooldown"),
                                                                            (always["id"], "fired")]
    fired = story["triggers"][1]
    assert fired["dispatchId"] == second["actionErrors"][0]["dispatchId"] and "dispatchId" not in story["triggers"][0]
    assert fired["dispatchStatus"] in ("retrying", "pending")  # the stream is off: an action cannot be sent
    assert [e["eventId"] for e in page["data"] + rest["data"]] == [second["eventId"], first["eventId"]]
    assert rest["nextCursor"] is None
    assert [(t["triggerId"], t["outcome"]) for t in rest["data"][0]["triggers"]] == [(once["id"], "fired"),
                                                                                      (always["id"], "fired")]
    counted = await stats(api, once["id"])
    assert (counted["fired"], counted["suppressed"]) == (2, {"cooldown": 1, "frequency_capped": 0})
    assert counted["lastFiredAt"] is not None
    other = api.as_("admin", tenant=api.tenant + "x")
    assert (await other.json("GET", f"/api/v1/events/{second['eventId']}", expect=404))["error"]["code"] == \
        "not_found"
    assert (await other.json("GET", "/api/v1/customers/c1/events"))["data"] == []
    await other.json("GET", f"/api/v1/triggers/{once['id']}/stats", expect=404)
    await api.as_("ingest").json("GET", f"/api/v1/events/{second['eventId']}", expect=403)


async def test_a_paused_trigger_that_matches_is_shown_as_paused_since_and_counted_nowhere(
        aiohttp_client, tmp_path, database_url):
    api = await start_api(aiohttp_client, tmp_path, database_url)
    held = await create_trigger(api, name="held back", priority=90, status="paused")
    missed = await create_trigger(api, name="misses", status="paused",
                                  condition={"field": "amount", "operator": "greater_than", "value": 100})
    always = await create_trigger(api, name="always", priority=10)

    answer = await ingest(api, customer="c1", data={"amount": 1})
    story = await api.json("GET", f"/api/v1/events/{answer['eventId']}")
    await api.json("PUT", f"/api/v1/triggers/{held['id']}", json={"status": "active"})
    again = await api.json("GET", f"/api/v1/events/{(await ingest(api, customer='c1'))['eventId']}")

    assert [m["triggerId"] for m in answer["triggersMatched"]] == [always["id"]]
    assert [(t["triggerId"], t["outcome"]) for t in story["triggers"]] == [(held["id"], "paused_since"),
                                                                            (always["id"], "fired")]
    assert "dispatchId" not in story["triggers"][0] and missed["id"] not in str(story)
    assert [(t["triggerId"], t["outcome"]) for t in again["triggers"]] == [(held["id"], "fired"),
                                                                            (always["id"], "fired")]
    counted = await stats(api, held["id"])
    assert (counted["fired"], counted["suppressed"]) == (1, {"cooldown": 0, "frequency_capped": 0})


async def test_an_ingest_token_sends_events_and_nothing_else(api):
    ingest_only = api.as_("ingest")

    answer = await ingest(ingest_only)

    assert answer["ingested"] is True
    await ingest_only.json("GET", "/api/v1/triggers", expect=403)
    await ingest_only.json("POST", "/api/v1/triggers", json={"name": "x", "eventType": "purchase",
                                                             "actionType": "recommend",
                                                             "actionConfig": {"decisionFlowId": "d"}}, expect=403)
    await ingest_only.json("GET", f"/api/v1/events/{answer['eventId']}", expect=403)


async def _listed(api, count: int) -> bool:
    return len((await api.json("GET", DISPATCHES, params={"limit": 50}))["data"]) >= count


async def test_a_process_without_the_relay_leaves_retries_to_the_process_that_runs_it(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver(then=500)
    quiet = await hook_api(aiohttp_client, tmp_path, database_url, schedule="0.1,0.1", relay=False)
    trigger = await create_trigger(quiet, actionType="webhook", actionConfig={"url": await receive(receiver)})
    dispatch_id = (await ingest(quiet))["actionErrors"][0]["dispatchId"]
    receiver.then = 200
    await until_status(quiet, dispatch_id, "retrying")
    await asyncio.sleep(1.0)  # ten polls and more past its due time: nobody retried it
    waiting = await dispatch(quiet, dispatch_id)

    worker = await hook_api(aiohttp_client, tmp_path / "second", database_url, schedule="0.1,0.1")
    delivered = await until_status(worker.as_("admin", tenant=quiet.tenant), dispatch_id, "delivered")

    assert waiting["status"] == "retrying" and len(waiting["attempts"]) == 1
    assert [a["outcome"] for a in delivered["attempts"]] == ["failed", "delivered"]
    assert trigger["id"] == delivered["triggerId"] and receiver.ids == [dispatch_id] * 2
