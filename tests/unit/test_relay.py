"""The relay with in-memory fakes: it finishes what a request left undone, and retries on schedule."""

import asyncio
from dataclasses import replace

import orjson
import pytest

from application.deliveries import Sender
from application.journal import Journal
from application.rebuilds import Rebuilds
from application.records import DispatchRecord, LoggedEvent, TriggerOutcome
from application.relay import Relay, RelayPolicy
from domain.dispatch import DispatchState, dispatch_id
from domain.trigger import Trigger
from tests.unit.fakes import MemoryDispatchLog, MemoryEventLog, Observer, PlainTemplates, inline

NOW = 1_900_000_000_000
RIPE, YOUNG = NOW - 60_000, NOW


class Stream:
    def __init__(self, fail=False, hang=False):
        self.fail, self.hang = fail, hang
        self.published, self.bodies = [], []

    async def publish(self, subject, message_id, body):
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise ConnectionError("stream down")
        self.published.append((subject, message_id))
        self.bodies.append(body)
        return 100 + len(self.published)

    async def publish_many(self, messages, timeout):  # JetStream.publish_many's contract: an outcome each
        async def one(message):
            try:
                return await self.publish(*message)
            except Exception as error:
                return error
        try:
            async with asyncio.timeout(timeout):
                return [await one(message) for message in messages]
        except TimeoutError:
            return [TimeoutError("no acknowledgement")] * len(messages)


@pytest.fixture
def journal():
    journal = Journal()
    trigger = Trigger.create("t1", "tr_1", {"name": "n", "event_type": "purchase", "action_type": "recommend",
                                            "action_config": {"decisionFlowId": "df"}}, "me")
    journal.save(trigger)
    return journal


def event(event_id: str, received_ms: int, *fired: str) -> LoggedEvent:
    body = {"id": event_id, "tenantId": "t1", "type": "purchase", "customerId": "c1", "channel": None,
            "timestamp": "t", "receivedAt": "t", "data": {}, "triggerEventTypes": ["purchase"]}
    return LoggedEvent("t1", event_id, "c1", "purchase", received_ms, body,
                       tuple(TriggerOutcome(t, 1, "recommend", "fired") for t in fired))


def relay(journal, events, dispatches, stream, schedule=(1, 2), batch=500) -> Relay:
    policy = RelayPolicy(retry_schedule=schedule, grace_ms=10_000, attempt_timeout_s=0.2, publish_timeout_s=0.2,
                         batch=batch)
    return Relay(events, dispatches, Rebuilds(journal, events, PlainTemplates()), Sender(stream, webhooks=None),
                 inline, Observer(), policy)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr("application.relay._now_ms", lambda: NOW)


async def test_a_ripe_unstreamed_event_is_published_once_and_the_checkpoint_passes_it(journal):
    events, dispatches, stream = MemoryEventLog(event("evt_1", RIPE)), MemoryDispatchLog(), Stream()
    events.append(event("evt_2", RIPE), sequence=7)  # the request streamed this one itself

    await relay(journal, events, dispatches, stream).catch_up()
    await relay(journal, events, dispatches, stream).catch_up()

    assert stream.published == [("tripcord.events.t1.purchase", "evt_1")]
    assert [e.stream_sequence for e in events.entries] == [101, 7] and events.position == 2


async def test_it_publishes_the_body_as_logged_though_it_tails_without_bodies(journal):
    logged = event("evt_1", RIPE)
    events, stream = MemoryEventLog(replace(logged, body={**logged.body, "data": {"amount": 12.5}})), Stream()

    await relay(journal, events, MemoryDispatchLog(), stream).catch_up()

    assert [orjson.loads(b) for b in stream.bodies] == [events.entries[0].event.body]


async def test_under_load_it_goes_on_while_full_batches_settle_and_rests_once_caught_up(journal):
    events = MemoryEventLog()
    for n in range(5):
        events.append(event(f"evt_{n}", YOUNG), sequence=n + 1)  # each streamed by its request
    tripcord_relay = relay(journal, events, MemoryDispatchLog(), Stream(), batch=2)

    answers = [await tripcord_relay.catch_up() for _ in range(3)]

    assert answers == [1, 1, 0] and events.position == 5


async def test_each_stretch_begins_at_the_checkpoint_as_stored_even_when_another_relay_moved_it(journal):
    events = MemoryEventLog()
    for n in range(4):
        events.append(event(f"evt_{n}", YOUNG), sequence=n + 1)
    began_after, unsettled = [], events.unsettled

    def looking(after, limit):
        stretch = unsettled(after, limit)
        began_after.append(stretch.after)
        return stretch
    events.unsettled = looking
    tripcord_relay = relay(journal, events, MemoryDispatchLog(), Stream(), batch=2)

    await tripcord_relay.catch_up()  # passes evt_0 and evt_1
    events.position = 3  # another process's relay passed evt_2 meanwhile
    await tripcord_relay.catch_up()

    assert began_after == [0, 3] and events.position == 4


async def test_a_young_event_is_left_to_its_request_and_holds_the_checkpoint(journal):
    events, stream = MemoryEventLog(event("evt_1", RIPE), event("evt_2", YOUNG), event("evt_3", RIPE)), Stream()

    await relay(journal, events, MemoryDispatchLog(), stream).catch_up()

    assert [m for _, m in stream.published] == ["evt_1", "evt_3"]  # the young one may still be published
    assert events.position == 1  # but the checkpoint never passes an unsettled event


async def test_a_fire_that_left_no_record_gets_one_due_now(journal):
    events, dispatches = MemoryEventLog(), MemoryDispatchLog()
    events.append(event("evt_1", RIPE, "tr_1"), sequence=3)

    await relay(journal, events, dispatches, Stream()).catch_up()

    recovered = dispatches.get("t1", dispatch_id("evt_1", "tr_1"))
    assert recovered.state == DispatchState("pending", NOW) and recovered.target == "tripcord.actions.t1.recommend"
    assert events.position == 1


async def test_with_the_stream_down_nothing_is_acknowledged_and_the_checkpoint_stays(journal):
    events = MemoryEventLog(event("evt_1", RIPE))

    await relay(journal, events, MemoryDispatchLog(), Stream(fail=True)).catch_up()

    assert events.entries[0].stream_sequence is None and events.position == 0


def pending(event_id: str, **state) -> DispatchRecord:
    return DispatchRecord(dispatch_id(event_id, "tr_1"), "t1", "tr_1", 1, event_id, "c1", "recommend",
                          "tripcord.actions.t1.recommend", DispatchState("pending", NOW, **state), (), RIPE)


async def settle(the_relay: Relay) -> None:
    await the_relay.retry_due()
    await the_relay.stop(grace_s=1)


async def test_a_due_dispatch_is_delivered_with_its_id_and_its_attempt_recorded(journal):
    events, dispatches, stream = MemoryEventLog(event("evt_1", RIPE, "tr_1")), MemoryDispatchLog(), Stream()
    dispatches.recover([pending("evt_1")])

    await settle(relay(journal, events, dispatches, stream))

    record = dispatches.get("t1", dispatch_id("evt_1", "tr_1"))
    assert stream.published == [("tripcord.actions.t1.recommend", dispatch_id("evt_1", "tr_1"))]
    assert record.state.status == "delivered" and [a["outcome"] for a in record.attempts] == ["delivered"]


async def test_failures_follow_the_schedule_then_the_dispatch_is_dead(journal):
    events, dispatches = MemoryEventLog(event("evt_1", RIPE, "tr_1")), MemoryDispatchLog()
    dispatches.recover([pending("evt_1")])
    down = relay(journal, events, dispatches, Stream(fail=True), schedule=(0, 0))

    states = []
    for _ in range(3):
        await settle(down)
        states.append(dispatches.get("t1", dispatch_id("evt_1", "tr_1")).state.status)

    assert states == ["retrying", "retrying", "dead"]
    record = dispatches.get("t1", dispatch_id("evt_1", "tr_1"))
    assert len(record.attempts) == 3 and "no retry left after 3 attempts" in record.state.last_error


async def test_a_receiver_that_never_answers_does_not_hold_the_cycle(journal):
    events, dispatches = MemoryEventLog(), MemoryDispatchLog()
    events.append(event("evt_1", RIPE, "tr_1"), sequence=1)
    dispatches.recover([pending("evt_1")])
    hanging = relay(journal, events, dispatches, Stream(hang=True))

    started = asyncio.get_running_loop().time()
    assert await hanging.run_once() == 1
    assert asyncio.get_running_loop().time() - started < 0.1  # the cycle did not wait for the attempt
    await hanging.stop(grace_s=1)  # the attempt times out after 0.2 s and is recorded as a failure
    assert dispatches.get("t1", dispatch_id("evt_1", "tr_1")).state.status == "retrying"
