"""The relay: delivers whatever the outbox still holds, with exponential backoff.

Every process may run one; claims are leases in the database, so two relays never take the
same message at once, and message ids make a repeated delivery harmless downstream.
"""

import asyncio
import time
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.delivery import Deliveries, backoff_ms
from application.journal import Journal
from application.ports import Blocking, Commit, Observer, OutboxMessage, Storage, UnitOfWork
from domain.dispatch import Dispatch


CLASH_RETRIES = 5


@dataclass(frozen=True)
class RelayPolicy:
    max_attempts: int = 8
    base_ms: int = 1000
    max_ms: int = 300_000
    lease_ms: int = 30_000
    attempt_timeout_s: float = 10.0
    batch: int = 200


class Relay:
    def __init__(self, journal: Journal, storage: Storage, deliveries: Deliveries, commit: Commit,
                 blocking: Blocking, observer: Observer, policy: RelayPolicy):
        self.journal = journal
        self.storage = storage
        self.deliveries = deliveries
        self.commit = commit
        self.blocking = blocking
        self.observer = observer
        self.policy = policy

    async def run_once(self) -> int:
        """Deliver every message now due; returns how many were attempted."""
        now_ms = int(time.time() * 1000)
        messages = await self.blocking(self.storage.claim_due, now_ms, self.policy.lease_ms, self.policy.batch)
        await asyncio.gather(*(self._redeliver(m) for m in messages))
        return len(messages)

    async def run_forever(self, interval_s: float) -> None:
        while True:
            try:
                if await self.run_once() >= self.policy.batch:
                    continue
            except Exception:  # database down: try again next round
                pass
            await asyncio.sleep(interval_s)

    async def _redeliver(self, message: OutboxMessage) -> None:
        try:
            await asyncio.wait_for(self.deliveries.send(message, self.policy.attempt_timeout_s),
                                   self.policy.attempt_timeout_s)
        except Exception as failure:
            await self._failed(message, str(failure) or type(failure).__name__)
        else:
            await self._delivered(message)

    async def _delivered(self, message: OutboxMessage) -> None:
        if message.kind == "event":
            self.observer.published("relayed")
            await self.commit(UnitOfWork(outbox_done=[message.id]))
            return
        self.observer.dispatched(_action_type(message), "delivered")
        await self._record_outcome(message, lambda d: d.deliver(message.attempts), settled=True)

    async def _failed(self, message: OutboxMessage, error: str) -> None:
        delay = backoff_ms(message.attempts, self.policy.base_ms, self.policy.max_ms)
        if message.kind == "event":  # events are never given up: the stream must get each one
            self.observer.published("deferred")
        elif message.attempts >= self.policy.max_attempts:
            self.observer.dispatched(_action_type(message), "dead")
            await self._record_outcome(message, lambda d: d.declare_dead(message.attempts, error), settled=True)
            return
        else:
            self.observer.dispatched(_action_type(message), "failed")
            await self._record_outcome(message, lambda d: d.fail(message.attempts, error), settled=False)
        await self.blocking(self.storage.reschedule, message.id, _now_ms() + delay, message.attempts)

    async def _record_outcome(self, message: OutboxMessage, change, settled: bool) -> None:
        """Records the outcome on the Dispatch (and settles the outbox when it is final).

        A clash means another writer (the request path, or a relay in another process) saved the
        Dispatch first: read it again and apply the outcome on top, so no outcome is lost.
        """
        dispatch_id = Dispatch.id_of(message.id)
        for _ in range(CLASH_RETRIES):
            unit = UnitOfWork(outbox_done=[message.id] if settled else [])
            try:
                dispatch = await self.blocking(self.journal.repository.get, dispatch_id)
                change(dispatch)
                unit.events += dispatch.collect_events()
            except AggregateNotFoundError:
                pass
            try:
                await self.commit(unit)
                return
            except IntegrityError:
                continue
        raise IntegrityError(f"could not record the outcome of {message.id}")


def _action_type(message: OutboxMessage) -> str:
    return "webhook" if message.kind == "webhook" else message.subject.rsplit(".", 1)[-1]


def _now_ms() -> int:
    return int(time.time() * 1000)
