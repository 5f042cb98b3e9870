"""NATS down at ingest time: the request still answers quickly, and the relay streams each event once."""

import time

from tests.e2e.ingest_helpers import (StreamProbe, create_trigger, dispatch_statuses, eventually, ingest,
                                      matched_ids, start_api, unstreamed_ids)


async def test_events_ingested_during_an_outage_reach_the_stream_exactly_once(
        aiohttp_client, tmp_path, database_url, throwaway_nats):
    api = await start_api(aiohttp_client, tmp_path, database_url, throwaway_nats.url,
                          retry_schedule="0.05,0.1,0.2,0.4,0.4,0.4,0.4,0.4")
    trigger = await create_trigger(api)
    before = await ingest(api, customer="before")
    assert before["streamId"] == before["eventId"]

    throwaway_nats.stop()
    answers = []
    for customer in ("c1", "c2", "c3", "c4"):
        started = time.monotonic()
        answers.append(await ingest(api, customer=customer))
        assert time.monotonic() - started < 1.5
    throwaway_nats.start()

    assert [a["streamId"] for a in answers] == [None] * 4
    assert [matched_ids(a) for a in answers] == [[trigger["id"]]] * 4
    events = sorted([before["eventId"], *(a["eventId"] for a in answers)])
    dispatches = sorted(d["dispatchId"] for a in [before, *answers]
                        for d in a["actionsDispatched"] + a.get("actionErrors", []))
    await eventually(lambda: not unstreamed_ids(api) and set(dispatch_statuses(api).values()) == {"delivered"},
                     timeout=15, message="every event streamed and every dispatch delivered")
    async with StreamProbe(throwaway_nats.url) as probe:
        assert sorted(await probe.ids(f"tripcord.events.{api.tenant}.>")) == events
        assert sorted(await probe.ids(f"tripcord.actions.{api.tenant}.>")) == dispatches
