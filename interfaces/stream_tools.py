"""Stream commands: tail the live stream; republish the event log to it, idempotently."""

import json

import nats
import orjson
from nats.js.api import ConsumerConfig, DeliverPolicy

from application.records import StreamAck
from application.subjects import EVENTS, all_tenants_events, event_subject, tenant_events
from infrastructure.settings import Settings
from infrastructure.sql.event_log import SqlEventLog
from infrastructure.stream import EVENTS_STREAM, StreamSettings, ensure_streams
from interfaces.database import opened

PAGE = 500


async def _connect(settings: Settings):
    if not settings.stream_enabled or not settings.nats_servers:
        raise SystemExit("set TRIPCORD_NATS_URL to the server of `tripcord serve` (it prints it at start-up), "
                         "and TRIPCORD_NATS_TOKEN to its token (in the data directory's nats_token)")
    try:
        return await nats.connect(settings.nats_servers, connect_timeout=3, max_reconnect_attempts=3,
                                  reconnect_time_wait=0.5, token=settings.nats_token, error_cb=_quiet)
    except Exception as error:
        raise SystemExit(f"cannot reach NATS at {settings.nats_url}: {error or type(error).__name__}") from None


async def _quiet(error: Exception) -> None:
    """nats-py prints a traceback per failed attempt by default; one clear message is enough."""


async def tail(settings: Settings, tenant: str, event_type: str, from_start: bool, count: int) -> int:
    nc = await _connect(settings)
    js = nc.jetstream()
    subject = all_tenants_events(event_type) if tenant == "*" else tenant_events(tenant, event_type)
    subscription = await js.subscribe(subject, ordered_consumer=True, deliver_policy="all" if from_start else "new")
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
    """Publishes every logged event the stream does not hold (compared by message id, read up to the
    stream's last sequence), and records the acknowledgement of each one the stream holds."""
    nc = await _connect(settings)
    js = nc.jetstream()
    await ensure_streams(js, StreamSettings(settings.stream_duplicate_window_s, settings.stream_max_age,
                                            settings.stream_replicas))
    present = await ids_in_stream(js)
    published = refused = 0
    with opened(settings) as database:
        event_log = SqlEventLog(database)
        after = 0
        try:
            while entries := event_log.tail(after, PAGE):
                acks = []
                for entry in entries:
                    logged = entry.event
                    sequence = present.get(logged.event_id)
                    if sequence is None:
                        ack = await js.publish(event_subject(logged.tenant_id, logged.type), orjson.dumps(logged.body),
                                               timeout=5, headers={"Nats-Msg-Id": logged.event_id,
                                                                   "Content-Type": "application/json"})
                        sequence = present[logged.event_id] = ack.seq
                        if ack.duplicate:  # left the stream (a purge) but still in its duplicate window
                            refused += 1
                        else:
                            published += 1
                    if entry.stream_sequence is None:
                        acks.append(StreamAck(logged.event_id, sequence))
                if acks:
                    event_log.acknowledge(acks)
                after = entries[-1].position
        finally:
            await nc.close()
    print(f"republished {published} events missing from {EVENTS_STREAM}")
    if refused:
        print(f"{refused} events were refused as duplicates: they left the stream within its duplicate window "
              f"({settings.stream_duplicate_window_s} s); replay again once it has passed")
        return 1
    return 0


async def ids_in_stream(js, wait_s: float = 10.0) -> dict[str, int]:
    """Every event id TRIPCORD_EVENTS holds, with its sequence: read up to the last sequence the stream
    reported, however long that takes, never up to a pause."""
    info = await js.stream_info(EVENTS_STREAM)
    found: dict[str, int] = {}
    if info.state.messages == 0:
        return found
    last = info.state.last_seq
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=info.state.first_seq)
    subscription = await js.subscribe(EVENTS, ordered_consumer=True, config=config)
    seen = 0
    try:
        while seen < last:
            try:
                message = await subscription.next_msg(timeout=wait_s)
            except TimeoutError:  # the messages left may have aged out meanwhile: ask the stream
                if (await js.stream_info(EVENTS_STREAM)).state.last_seq <= seen:
                    break
                continue
            seen = message.metadata.sequence.stream
            found[(message.headers or {}).get("Nats-Msg-Id", "")] = seen
    finally:
        await subscription.unsubscribe()
    return found
