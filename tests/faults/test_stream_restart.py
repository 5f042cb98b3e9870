"""NATS stopped and restarted under load: every acknowledged event reaches the stream exactly once."""

import asyncio
from collections import Counter

import pytest

from infrastructure.stream import ACTIONS_STREAM, EVENTS_STREAM
from interfaces.app import create_app
from tests.api import Caller, make_settings, random_tenant
from tests.e2e.ingest_helpers import wait_ready
from tests.faults.load import BIG_SPENDER, IngestLoad, StoredEvents, stream_ids, until


@pytest.mark.slow
async def test_every_acknowledged_event_is_streamed_once_across_a_nats_restart(
        aiohttp_client, tmp_path, sqlite_url, throwaway_nats):
    settings = make_settings(tmp_path, sqlite_url, nats_url=throwaway_nats.url, retry_schedule="0.1,0.2,0.5,1,1,1,1")
    client = await aiohttp_client(create_app(settings))
    await wait_ready(client)
    api = Caller(client, random_tenant())
    await api.json("POST", "/api/v1/triggers", expect=201, json=BIG_SPENDER)
    load = IngestLoad(client, api.headers, total=200, concurrency=10, pause_s=0.15, timeout_s=5.0, max_seconds=30)
    running = asyncio.create_task(load.run())
    loop = asyncio.get_running_loop()

    await load.answered(60)
    await loop.run_in_executor(None, throwaway_nats.stop)
    await asyncio.sleep(1.0)
    await loop.run_in_executor(None, throwaway_nats.start)
    await running
    drained = await until(lambda: not StoredEvents.read(settings.sqlalchemy_url, api.tenant).owed, timeout=30)

    acknowledged = load.acknowledged()
    unstreamed = sum(a.body["streamId"] is None for a in load.answers if a.status == 200)
    assert load.statuses() == {200: 200}
    assert drained, "the relay did not stream every event and deliver every dispatch within 30 s"
    events = Counter(await stream_ids(throwaway_nats.url, f"tripcord.events.{api.tenant}.>", EVENTS_STREAM))
    assert events == Counter(acknowledged.values())
    dispatched = [d["dispatchId"] for a in load.answers
                  for d in a.body["actionsDispatched"] + a.body.get("actionErrors", [])]
    actions = Counter(await stream_ids(throwaway_nats.url, f"tripcord.actions.{api.tenant}.>", ACTIONS_STREAM))
    assert actions == Counter(dispatched) and len(actions) == 200
    print(f"\nFIGURES nats-restart: sent={len(load.answers)} acknowledged={len(acknowledged)} "
          f"acknowledged-without-stream={unstreamed} in-stream={sum(events.values())} "
          f"distinct={len(events)} actions={sum(actions.values())} slowest={load.slowest():.2f}s")
