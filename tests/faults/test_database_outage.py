"""PostgreSQL stopped under load: 503s with the standard body, no partial writes, recovery without a restart."""

import asyncio
import time

import pytest

from domain.dispatch import dispatch_id
from interfaces.app import create_app
from tests.api import Caller, make_settings, random_tenant
from tests.faults.load import BIG_SPENDER, IngestLoad, StoredEvents, until
from tests.servers import create_database

@pytest.mark.slow
async def test_ingest_answers_503_while_postgres_is_down_and_recovers_by_itself(
        aiohttp_client, tmp_path, throwaway_postgres):
    database_url = create_database(throwaway_postgres.url)
    client = await aiohttp_client(create_app(make_settings(tmp_path, database_url)))
    api = Caller(client, random_tenant())
    trigger = await api.json("POST", "/api/v1/triggers", expect=201, json=BIG_SPENDER)
    load = IngestLoad(client, api.headers, total=5000, concurrency=8, pause_s=0.02, timeout_s=5.0, max_seconds=60)
    running = asyncio.create_task(load.run())
    loop = asyncio.get_running_loop()

    await load.answered(100)
    await loop.run_in_executor(None, throwaway_postgres.stop)
    down_from = len(load.answers)
    readiness = await client.get("/readyz")
    not_ready = (readiness.status, (await readiness.json())["checks"]["database"])
    await asyncio.sleep(2.0)
    await loop.run_in_executor(None, throwaway_postgres.start)
    up_from, up_at = len(load.answers), time.monotonic()
    recovered = await until(lambda: sum(a.status == 200 for a in load.answers[up_from:]) >= 50, timeout=30)
    load.stop()
    await running

    statuses = load.statuses()
    during = load.answers[down_from:up_from]
    refusals = [a.body for a in load.answers if a.status == 503]
    assert recovered, f"no recovery within 30 s after the restart: {statuses}"
    assert set(statuses) <= {200, 503}, statuses
    assert refusals and all(b["error"]["code"] == "database_unavailable" and b["error"]["message"] for b in refusals)
    assert any(a.status == 503 for a in during)
    assert load.slowest() < 5.0
    assert not_ready[0] == 503 and not_ready[1].startswith("unavailable")
    recovery_s = min(a.at for a in load.answers[up_from:] if a.status == 200) - up_at

    stored = StoredEvents.read(database_url, api.tenant)
    acknowledged = load.acknowledged()
    assert all(stored.events.get(event_id) == customer for customer, event_id in acknowledged.items())
    # All or nothing: a recorded event has its fire, and no dispatch record exists without one.
    assert stored.fired == {dispatch_id(e, trigger["id"]) for e in stored.events}
    assert set(stored.dispatches) <= stored.fired
    assert stored.unstreamed == set(stored.events)  # this app has no stream: every event still waits
    refused_but_recorded = {a.customer for a in load.answers if a.status == 503} & set(stored.events.values())
    print(f"\nFIGURES postgres-outage: sent={len(load.answers)} statuses={dict(statuses)} "
          f"during-outage={len(during)} acknowledged={len(acknowledged)} found={len(stored.events)} "
          f"refused-but-recorded={len(refused_but_recorded)} slowest={load.slowest():.2f}s "
          f"first-200-after-restart={max(0.0, recovery_s):.2f}s")
