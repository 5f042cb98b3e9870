"""The relay: finishes whatever a request could not, and retries dispatches on their schedule.

Catching up: it tails the event log from a checkpoint. An event whose request had its chance (the
deadline plus a grace) and left it unacknowledged by the stream is published again (its id makes
JetStream drop a copy); a fire that left no dispatch record gets one, due now. The checkpoint then
moves over every event that is streamed and has all its dispatch records. Every process writes
the event log under the event store's exclusive table lock, so positions commit in order: an event
the relay cannot see yet always lands after the checkpoint, never behind it.

Retrying: dispatches due are claimed with a lease, so two relays, or a relay and a resend, never
deliver one at once; each delivery runs on its own, so a receiver that never answers holds one
slot for the attempt's timeout, not the cycle.
"""

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import orjson

from application.deliveries import Sender, Undeliverable, undeliverable
from application.ports import Blocking, DispatchLog, EventLog, Observer
from application.rebuilds import Rebuilds
from application.records import DispatchRecord, EventEntry, StreamAck
from application.subjects import event_subject
from domain.customer_events import FIRED
from domain.dispatch import DEFAULT_RETRY_SCHEDULE_S, PENDING, DispatchState, after_attempt, dispatch_id

log = logging.getLogger("tripcord.relay")


@dataclass(frozen=True)
class RelayPolicy:
    retry_schedule: tuple = DEFAULT_RETRY_SCHEDULE_S
    grace_ms: int = 12_000  # a request's deadline and the commit of its outcomes, with room to spare
    lease_ms: int = 60_000
    attempt_timeout_s: float = 10.0
    publish_timeout_s: float = 5.0
    batch: int = 2000  # events looked at per stretch; the database tells which are settled
    concurrency: int = 64


class Relay:
    def __init__(self, event_log: EventLog, dispatch_log: DispatchLog, rebuilds: Rebuilds, sender: Sender,
                 blocking: Blocking, observer: Observer, policy: RelayPolicy):
        self.event_log = event_log
        self.dispatch_log = dispatch_log
        self.rebuilds = rebuilds
        self.sender = sender
        self.blocking = blocking
        self.observer = observer
        self.policy = policy
        self._in_flight: set[asyncio.Task] = set()

    async def run_once(self) -> int:
        """One cycle: catch up on the event log, then start every due retry there is room for."""
        return await self.catch_up() + await self.retry_due()

    async def run_forever(self, interval_s: float) -> None:
        """Catches up as long as there is more to settle, then starts due retries and rests: a
        backlog costs one stretch at a time, and the retry queue one look per interval."""
        while True:
            try:
                while await self.catch_up():
                    await asyncio.sleep(0)  # let requests run between stretches
                await self.retry_due()
            except Exception as error:  # the database is down, say: try again next round
                log.warning("relay cycle failed", extra={"error": f"{type(error).__name__}: {error}"})
            await asyncio.sleep(interval_s)

    async def catch_up(self) -> int:
        """Settles what it can of the next stretch of the event log; answers how much it did, more
        than 0 when it should go on at once (it acted, or passed a full stretch)."""
        now_ms = _now_ms()
        # From the checkpoint as stored, read in the same statement: it may have moved (another
        # process's relay), and only the database's own value holds after a failover.
        stretch = await self.blocking(self.event_log.unsettled, 0, self.policy.batch)
        if not stretch.looked_at:
            return 0
        checkpoint = stretch.after
        entries, ripe = stretch.entries, now_ms - self.policy.grace_ms
        fired = [dispatch_id(e.event.event_id, o.trigger_id) for e in entries for o in e.event.outcomes
                 if o.outcome == FIRED]
        recorded = await self.blocking(self.dispatch_log.statuses, fired) if fired else {}
        unstreamed = [e for e in entries if e.stream_sequence is None and e.event.received_at_ms <= ripe]
        sequences = await self._publish_all(unstreamed)
        acks, recovered, settled = [], [], stretch.through
        for entry in entries:
            sequence = entry.stream_sequence or sequences.get(entry.position)
            if entry.stream_sequence is None and sequence is not None:
                acks.append(StreamAck(entry.event.event_id, sequence))
            missing = [o for o in entry.event.outcomes
                       if o.outcome == FIRED and dispatch_id(entry.event.event_id, o.trigger_id) not in recorded]
            if missing and entry.event.received_at_ms <= ripe:
                recovered.extend([await self.blocking(self._recovered, entry, o, now_ms) for o in missing])
                missing = []
            # The checkpoint moves over settled events only, and stops before the first one that is not.
            if (sequence is None or missing) and settled >= entry.position:
                settled = entry.position - 1
        if acks:
            await self.blocking(self.event_log.acknowledge, acks)
        if recovered:
            await self.blocking(self.dispatch_log.recover, recovered)
        if settled > checkpoint:
            await self.blocking(self.event_log.advance, settled)
        # A full stretch passed means more is waiting: under load the relay keeps up instead of
        # settling one stretch per poll.
        passed = stretch.looked_at == self.policy.batch and settled == stretch.through
        return len(acks) + len(recovered) + passed

    async def _publish_all(self, entries: list[EventEntry]) -> dict[int, int | None]:
        """Publishes the events the stream has not acknowledged, together, with one wait for their
        acknowledgements (as a request does); their sequences by log position, None where none came."""
        if not entries:
            return {}
        bodies = await self.blocking(self.event_log.bodies, [e.event.event_id for e in entries])
        messages = [(event_subject(e.event.tenant_id, e.event.type), e.event.event_id,
                     orjson.dumps(bodies[e.event.event_id])) for e in entries]
        outcomes = await self.sender.publish_many(messages, self.policy.publish_timeout_s)
        sequences = {}
        for entry, outcome in zip(entries, outcomes):
            sequence = None if isinstance(outcome, Exception) else outcome
            self.observer.published("deferred" if sequence is None else "relayed")
            sequences[entry.position] = sequence
        return sequences

    def _recovered(self, entry: EventEntry, outcome, now_ms: int) -> DispatchRecord:
        """Blocking: the record of a fire whose request left none, due at once."""
        logged = entry.event
        fired = dispatch_id(logged.event_id, outcome.trigger_id)
        try:
            target = self.rebuilds.delivery(logged.tenant_id, logged.event_id, outcome.trigger_id,
                                            outcome.trigger_version, fired).target
        except Undeliverable:
            target = ""  # its attempt will say why, and declare it dead
        return DispatchRecord(fired, logged.tenant_id, outcome.trigger_id, outcome.trigger_version, logged.event_id,
                              logged.customer_id, outcome.action_type, target, DispatchState(PENDING, now_ms),
                              (), logged.received_at_ms)

    async def retry_due(self) -> int:
        room = self.policy.concurrency - len(self._in_flight)
        if room <= 0:
            return 0
        claimed = await self.blocking(self.dispatch_log.claim_due, _now_ms(), self.policy.lease_ms, room)
        for record in claimed:
            self.deliver_soon(record)
        return len(claimed)

    def deliver_soon(self, record: DispatchRecord) -> None:
        """Deliver a claimed dispatch in the background."""
        task = asyncio.create_task(self.redeliver(record))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def redeliver(self, record: DispatchRecord) -> None:
        try:
            delivery = await self.blocking(self.rebuilds.delivery, record.tenant_id, record.event_id,
                                           record.trigger_id, record.trigger_version, record.id)
        except Undeliverable as reason:
            attempt = undeliverable(str(reason))
        else:
            attempt = await self.sender.attempt(delivery, self.policy.attempt_timeout_s)
        state = after_attempt(record.state, len(record.attempts) + 1, attempt, self.policy.retry_schedule)
        self.observer.dispatched(record.action_type, "delivered" if attempt.delivered else
                                 "dead" if state.status == "dead" else "failed")
        try:
            await self.blocking(self.dispatch_log.settle, record, attempt, state)
        except Exception as error:  # the lease runs out and the dispatch is tried again
            log.warning("could not record a dispatch attempt", extra={"error": f"{type(error).__name__}: {error}"})

    async def stop(self, grace_s: float = 5.0) -> None:
        """Let deliveries under way finish for a moment; the rest are retried once their lease ends."""
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace_s)
        for task in set(self._in_flight):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._in_flight, return_exceptions=True)


def _now_ms() -> int:
    return int(time.time() * 1000)
