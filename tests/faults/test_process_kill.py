"""`tripcord serve` killed with SIGKILL under load: a new process delivers everything the first one accepted."""

import asyncio
import os
from collections import Counter

import aiohttp
import pytest

from domain.dispatch import dispatch_id
from infrastructure.stream import ACTIONS_STREAM, EVENTS_STREAM
from tests.api import JWT_SECRET, token
from tests.faults.load import BIG_SPENDER, IngestLoad, StoredEvents, stream_ids, until
from tests.processes import ServeProcess
from tests.servers import create_database



@pytest.mark.slow
async def test_a_killed_process_loses_nothing_it_acknowledged(tmp_path, throwaway_postgres, throwaway_nats):
    database_url = create_database(throwaway_postgres.url)
    env = {"TRIPCORD_DATABASE_URL": database_url, "TRIPCORD_NATS_URL": throwaway_nats.url,
           "TRIPCORD_JWT_SECRET": JWT_SECRET, "TRIPCORD_DATA_DIR": str(tmp_path / "data"),
           "TRIPCORD_RELAY_POLL_S": "0.2", "TRIPCORD_RELAY_GRACE_S": "1", "TRIPCORD_RETRY_SCHEDULE": "0.2,0.5,1,1"}
    tenant = "kill_" + os.urandom(4).hex()
    headers = {"Authorization": f"Bearer {token((tenant,))}", "X-Tenant-Id": tenant}
    first = ServeProcess(env, tmp_path / "first.log")
    second = None
    try:
        await first.ready()
        async with aiohttp.ClientSession(base_url=first.url) as session:
            async with session.post("/api/v1/triggers", json=BIG_SPENDER, headers=headers) as response:
                assert response.status == 201, await response.text()
                trigger = await response.json()
            load = IngestLoad(session, headers, total=2000, concurrency=16, timeout_s=5.0, max_seconds=30)
            running = asyncio.create_task(load.run())
            await load.answered(300)
            first.kill()
            load.stop()
            await running
        second = ServeProcess(env, tmp_path / "second.log")
        await second.ready()
        drained = await until(lambda: not StoredEvents.read(database_url, tenant).owed, timeout=60, interval=0.5)
        assert drained, "the new process did not stream and deliver what the first one owed within 60 s"
    finally:
        first.stop()
        if second is not None:
            second.stop()

    stored = StoredEvents.read(database_url, tenant)
    acknowledged = load.acknowledged()
    assert set(load.statuses()) <= {200, None}
    assert all(stored.events.get(event_id) == customer for customer, event_id in acknowledged.items())
    events = Counter(await stream_ids(throwaway_nats.url, f"tripcord.events.{tenant}.>", EVENTS_STREAM))
    assert events == Counter(stored.events.keys())
    owed = {dispatch_id(e, trigger["id"]) for e in stored.events}
    assert stored.dispatches == dict.fromkeys(owed, "delivered")
    actions = Counter(await stream_ids(throwaway_nats.url, f"tripcord.actions.{tenant}.>", ACTIONS_STREAM))
    assert actions == Counter(owed)
    print(f"\nFIGURES sigkill: sent={len(load.answers)} acknowledged={len(acknowledged)} "
          f"unanswered={load.statuses()[None]} recorded={len(stored.events)} in-stream={sum(events.values())} "
          f"dispatches-delivered={len(owed)} actions-in-stream={sum(actions.values())}")
