"""Stream commands: tail the live stream; republish the event store to it, idempotently."""

import asyncio
import json

import nats
import orjson

from domain.customer_events import CustomerEvent
from infrastructure.settings import Settings
from infrastructure.stream import EVENTS_STREAM, ensure_streams
from interfaces.database import open_database

RECORDED_TOPIC = f"{CustomerEvent.__module__}:{CustomerEvent.__qualname__}.Recorded"


async def _connect(settings: Settings):
    if not settings.stream_enabled or not settings.nats_url:
        raise SystemExit("set TRIPCORD_NATS_URL to the server of `tripcord serve` (it prints it at start-up)")
    try:
        return await nats.connect(settings.nats_url, connect_timeout=3, max_reconnect_attempts=3,
                                  reconnect_time_wait=0.5, error_cb=_quiet)
    except Exception as error:
        raise SystemExit(f"cannot reach NATS at {settings.nats_url}: {error or type(error).__name__}") from None


async def _quiet(error: Exception) -> None:
    """nats-py prints a traceback per failed attempt by default; one clear message is enough."""


async def tail(settings: Settings, tenant: str, event_type: str, from_start: bool, count: int) -> int:
    nc = await _connect(settings)
    js = nc.jetstream()
    subject = f"tripcord.events.{tenant if tenant != '*' else '*'}.{event_type if event_type != '*' else '*'}"
    policy = "all" if from_start else "new"
    subscription = await js.subscribe(subject, ordered_consumer=True, deliver_policy=policy)
    seen = 0
    try:
        async for message in subscription.messages:
            print(json.dumps({"subject": message.subject, "sequence": message.metadata.sequence.stream,
                              "event": orjson.loads(message.data)}), flush=True)
            seen += 1
            if count and seen >= count:
                break
    finally:
        await nc.close()
    return 0


async def replay_stream(settings: Settings) -> int:
    """Publishes every recorded event the stream does not hold yet (compared by message id)."""
    nc = await _connect(settings)
    js = nc.jetstream()
    await ensure_streams(js, settings.stream_duplicate_window_s)
    present = await _ids_in_stream(js)
    journal = open_database(settings)
    published = refused = start = 0
    try:
        while True:
            page = journal.recorder.select_notifications(start + 1, 500, topics=[RECORDED_TOPIC])
            for notification in page:
                message = journal.mapper.to_domain_event(notification).message
                if message["id"] not in present:
                    headers = {"Nats-Msg-Id": message["id"], "Content-Type": "application/json"}
                    ack = await js.publish(f"tripcord.events.{message['tenantId']}.{message['type']}",
                                           orjson.dumps(message), timeout=5, headers=headers)
                    present.add(message["id"])
                    if ack.duplicate:  # removed from the stream (a purge) but still in its duplicate window
                        refused += 1
                    else:
                        published += 1
            if len(page) < 500:
                break
            start = page[-1].id
    finally:
        await nc.close()
        journal.close()
    print(f"republished {published} events missing from {EVENTS_STREAM}")
    if refused:
        print(f"{refused} events were refused as duplicates: they left the stream within its duplicate window "
              f"({settings.stream_duplicate_window_s} s); replay again once it has passed")
        return 1
    return 0


async def _ids_in_stream(js) -> set[str]:
    info = await js.stream_info(EVENTS_STREAM)
    ids: set[str] = set()
    if info.state.messages == 0:
        return ids
    subscription = await js.subscribe("tripcord.events.>", ordered_consumer=True, deliver_policy="all")
    try:
        while True:
            message = await subscription.next_msg(timeout=5)
            ids.add((message.headers or {}).get("Nats-Msg-Id", ""))
            if message.metadata.num_pending == 0:
                break
    except asyncio.TimeoutError:
        pass
    finally:
        await subscription.unsubscribe()
    return ids
