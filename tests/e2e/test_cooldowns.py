"""Cooldowns: a trigger fires at most once per window per customer, under concurrency and across restarts."""

import asyncio
import time

from domain.cooldown import CustomerCooldown
from interfaces.keys import DATABASE, INGESTION
from tests.e2e.ingest_helpers import StreamProbe, create_trigger, eventually, ingest, matched_ids, start_api

BURST = 24


async def burst(api, customer: str, count: int = BURST) -> list[dict]:
    return await asyncio.gather(*(ingest(api, customer=customer, data={"n": n}) for n in range(count)))


def fires(answers: list[dict], trigger_id: str) -> int:
    return sum(matched_ids(a).count(trigger_id) for a in answers)


async def test_a_burst_for_one_customer_fires_once_and_other_customers_still_fire(
        aiohttp_client, tmp_path, database_url, nats_url):
    api = await start_api(aiohttp_client, tmp_path, database_url, nats_url)
    trigger = await create_trigger(api, cooldownMs=3_600_000)
    always = await create_trigger(api, name="no cooldown", priority=10)

    answers = await burst(api, "c1")
    other = await ingest(api, customer="c2")

    assert fires(answers, trigger["id"]) == 1
    assert fires(answers, always["id"]) == BURST
    assert matched_ids(other) == [trigger["id"], always["id"]]
    fired = next(a for a in answers if trigger["id"] in matched_ids(a))
    cooldown = api.client.app[DATABASE].journal.repository.get(CustomerCooldown.create_id(api.tenant, trigger["id"], "c1"))
    assert cooldown.version == 1 and cooldown.event_id == fired["eventId"]
    expected = sorted(d["dispatchId"] for a in [*answers, other] for d in a["actionsDispatched"]
                      if d["triggerId"] == trigger["id"])
    async with StreamProbe(nats_url) as probe:
        dispatched = await probe.messages(f"tripcord.actions.{api.tenant}.recommend")
    streamed = sorted(m.headers["Nats-Msg-Id"] for m in dispatched if m.headers["Nats-Msg-Id"] in set(expected))
    assert len(expected) == 2 and streamed == expected


async def test_the_trigger_fires_again_once_the_window_has_passed(aiohttp_client, tmp_path, database_url):
    api = await start_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, cooldownMs=300)

    first = await ingest(api, customer="c1")
    started = time.monotonic()
    inside = await ingest(api, customer="c1")
    assert time.monotonic() - started < 0.3
    later = await eventually(_fires(api, trigger["id"]), timeout=3, interval=0.1, message="a second fire")

    assert matched_ids(first) == [trigger["id"]] and matched_ids(inside) == []
    assert matched_ids(later) == [trigger["id"]]
    cooldown = api.client.app[DATABASE].journal.repository.get(CustomerCooldown.create_id(api.tenant, trigger["id"], "c1"))
    assert cooldown.version == 2 and cooldown.event_id == later["eventId"]


def _fires(api, trigger_id):
    async def attempt():
        answer = await ingest(api, customer="c1")
        return answer if trigger_id in matched_ids(answer) else None
    return attempt


async def test_a_restarted_process_keeps_triggers_and_cooldowns(aiohttp_client, tmp_path, database_url):
    api = await start_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, cooldownMs=3_600_000)
    assert matched_ids(await ingest(api, customer="c1")) == [trigger["id"]]
    await api.client.close()

    restarted = await start_api(aiohttp_client, tmp_path, database_url, tenant=api.tenant)
    reloads = spy_on_reloads(restarted)
    answers = await burst(restarted, "c1", 8)
    after = await ingest(restarted, customer="c1")
    newcomer = await ingest(restarted, customer="c2")

    assert fires(answers, trigger["id"]) == 0 and matched_ids(after) == []
    assert reloads == [[(api.tenant, trigger["id"], "c1")]]  # created, clashed, reloaded
    assert matched_ids(newcomer) == [trigger["id"]]
    listed = await restarted.json("GET", "/api/v1/triggers")
    assert [t["id"] for t in listed["data"]] == [trigger["id"]]


def spy_on_reloads(api) -> list:
    """Records the cooldown keys each clash made the process reload from the store."""
    ingestion, calls = api.client.app[INGESTION], []
    learn = ingestion._learn

    async def spy(plans):
        calls.append([key for plan in plans for _, key, _ in plan.held])
        await learn(plans)
    ingestion._learn = spy
    return calls
