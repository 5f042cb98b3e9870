"""`tripcord replay stream` and `tripcord tail` against a real JetStream."""

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.api import JWT_SECRET
from tests.e2e.ingest_helpers import StreamProbe, ingest, start_api

ROOT = Path(__file__).resolve().parents[2]


async def tripcord(*args: str, database_url: str, nats_url: str, data_dir: Path, timeout: float = 30):
    env = {**os.environ, "TRIPCORD_DATABASE_URL": database_url, "TRIPCORD_NATS_URL": nats_url,
           "TRIPCORD_JWT_SECRET": JWT_SECRET, "TRIPCORD_DATA_DIR": str(data_dir)}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "interfaces.cli", *args, cwd=ROOT, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode, out.decode(), err.decode()


async def streamed_ids(url: str, tenant: str) -> list[str]:
    async with StreamProbe(url) as probe:
        return sorted(await probe.ids(f"tripcord.events.{tenant}.>"))


async def test_replay_publishes_what_the_stream_missed_and_a_second_run_adds_nothing(
        aiohttp_client, tmp_path, sqlite_url, throwaway_nats):
    offline = await start_api(aiohttp_client, tmp_path, sqlite_url, "none")
    missed = [(await ingest(offline, t, "c1"))["eventId"] for t in ("purchase", "page_view", "support_call")]
    await offline.client.close()
    online = await start_api(aiohttp_client, tmp_path / "online", sqlite_url, throwaway_nats.url,
                             tenant=offline.tenant)
    present = (await ingest(online, "app_open", "c2"))["eventId"]
    await online.client.close()
    cli = {"database_url": sqlite_url, "nats_url": throwaway_nats.url, "data_dir": tmp_path / "cli"}

    first = await tripcord("replay", "stream", **cli)
    after_first = await streamed_ids(throwaway_nats.url, offline.tenant)
    second = await tripcord("replay", "stream", **cli)

    assert first[0] == 0 and "republished 3 events" in first[1], first
    assert after_first == sorted([*missed, present])
    assert second[0] == 0 and "republished 0 events" in second[1], second
    assert await streamed_ids(throwaway_nats.url, offline.tenant) == after_first


async def test_replay_restores_a_deleted_stream(aiohttp_client, tmp_path, sqlite_url, throwaway_nats):
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, throwaway_nats.url)
    ids = sorted([(await ingest(api, "purchase", f"c{n}"))["eventId"] for n in range(3)])
    await api.client.close()
    async with StreamProbe(throwaway_nats.url) as probe:
        await probe.js.delete_stream("TRIPCORD_EVENTS")
    cli = {"database_url": sqlite_url, "nats_url": throwaway_nats.url, "data_dir": tmp_path / "cli"}

    code, out, err = await tripcord("replay", "stream", **cli)

    assert code == 0 and "republished 3 events" in out, (out, err)
    assert await streamed_ids(throwaway_nats.url, api.tenant) == ids


async def test_replay_after_a_purge_inside_the_duplicate_window_says_it_could_not_restore(
        aiohttp_client, tmp_path, sqlite_url, throwaway_nats):
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, throwaway_nats.url)
    await ingest(api, "purchase", "c1")
    await api.client.close()
    async with StreamProbe(throwaway_nats.url) as probe:
        await probe.js.purge_stream("TRIPCORD_EVENTS")
    cli = {"database_url": sqlite_url, "nats_url": throwaway_nats.url, "data_dir": tmp_path / "cli"}

    code, out, err = await tripcord("replay", "stream", **cli)

    assert await streamed_ids(throwaway_nats.url, api.tenant) == []
    assert code != 0 and "republished 0 events" in out and "1 " in out and "duplicate" in out, (out, err)


async def test_tail_prints_an_ingested_event_as_json(aiohttp_client, tmp_path, sqlite_url, nats_url):
    api = await start_api(aiohttp_client, tmp_path, sqlite_url, nats_url)
    answer = await ingest(api, "cart_abandon", "c7", channel="web", data={"cartValue": 129.99})

    code, out, err = await tripcord("tail", "--tenant", api.tenant, "--count", "1", "--from-start",
                                    database_url=sqlite_url, nats_url=nats_url, data_dir=tmp_path / "cli")

    assert code == 0, err
    [line] = out.splitlines()
    printed = json.loads(line)
    assert printed["subject"] == f"tripcord.events.{api.tenant}.cart_abandon"
    assert printed["sequence"] == answer["streamSequence"]
    assert printed["event"]["id"] == answer["eventId"] and printed["event"]["data"] == {"cartValue": 129.99}
