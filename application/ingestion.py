"""Ingestion, the orchestrator: commit what the planner decided, then stream the event and deliver its fires.

One request: plan in memory → commit the event, its fires' aggregates and its key in one unit →
publish and attempt every fire concurrently under the deadline → queue the outcomes (the stream's
acknowledgement, the dispatch records, the key's answer) for the next commit → answer. Whatever
the request could not send or record, the relay finds in the event log and finishes: nothing
acknowledged is lost, and no outbox row is written and deleted per message.
"""

import asyncio
import itertools
import secrets
import time
from dataclasses import asdict, dataclass, field

import orjson
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.deliveries import Sender, Undeliverable, undeliverable
from application.journal import Journal
from application.planner import Fire, Plan, Planner
from application.ports import (Blocking, Commit, DispatchLog, DispatchRecord, EventLog, Idempotency, KeyAnswer,
                               Observer, StreamAck, UnitOfWork)
from application.rebuilds import Rebuilds
from application.tenant_settings import TenantSettings
from application.subjects import action_subject, event_subject
from domain.customer_events import FIRED
from domain.dispatch import (DEFAULT_RETRY_SCHEDULE_S, DELIVERED, PENDING, Attempt, DispatchState, after_attempt,
                             dispatch_id)
from domain.idempotency import HEADER, LEASE_GRACE_MS, KeyClaim, fingerprint

CONFLICT_RETRIES = 5


class RequestInProgress(Exception):
    """The key's first request may still answer."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"a request with this key is still in progress; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class KeyReused(Exception):
    """The key came with another body."""


class Contention(Exception):
    """Concurrent fires for the same customers clashed more often than the retries allow."""


@dataclass(frozen=True)
class IngestPolicy:
    deadline_s: float = 2.0
    publish_timeout_s: float = 0.5
    retry_schedule: tuple = DEFAULT_RETRY_SCHEDULE_S


@dataclass(frozen=True)
class Matched:
    trigger_id: str
    action_type: str


@dataclass(frozen=True)
class Dispatched:
    trigger_id: str
    action_type: str
    dispatch_id: str
    config: dict


@dataclass(frozen=True)
class DispatchFailed:
    trigger_id: str
    action_type: str
    dispatch_id: str
    error: str


@dataclass
class IngestResult:
    event_id: str
    event_type: str
    customer_id: str
    stream_sequence: int | None
    matched: list[Matched] = field(default_factory=list)
    dispatched: list[Dispatched] = field(default_factory=list)
    failed: list[DispatchFailed] = field(default_factory=list)

    @property
    def stream_id(self) -> str | None:
        return self.event_id if self.stream_sequence is not None else None

    def as_record(self) -> dict:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "IngestResult":
        return cls(record["event_id"], record["event_type"], record["customer_id"], record["stream_sequence"],
                   [Matched(**m) for m in record["matched"]], [Dispatched(**d) for d in record["dispatched"]],
                   [DispatchFailed(**f) for f in record["failed"]])


class Ingestion:
    def __init__(self, planner: Planner, commit: Commit, sender: Sender, journal: Journal, event_log: EventLog,
                 dispatch_log: DispatchLog, idempotency: Idempotency, rebuilds: Rebuilds, blocking: Blocking,
                 observer: Observer, settings: TenantSettings, policy: IngestPolicy):
        self.planner = planner
        self.commit = commit
        self.sender = sender
        self.journal = journal
        self.event_log = event_log
        self.dispatch_log = dispatch_log
        self.idempotency = idempotency
        self.rebuilds = rebuilds
        self.blocking = blocking
        self.observer = observer
        self.settings = settings
        self.policy = policy
        # Unique without a system call per event: a random prefix per process, then a counter.
        prefix = "evt_" + secrets.token_hex(6)
        self._event_ids = (f"{prefix}{n:012x}" for n in itertools.count())

    async def ingest(self, tenant_id: str, event: dict, key: str | None = None, scope: str = HEADER) -> IngestResult:
        """`event` has type, customerId, data, channel and timestamp (ISO 8601). Raises DataRejected when
        the data breaks its type's schema."""
        self.settings.check(tenant_id, event["type"], event["data"])
        started, received_ms = time.monotonic(), int(time.time() * 1000)
        event_id = next(self._event_ids)
        claim = None
        if key is not None:
            lease = received_ms + int(self.policy.deadline_s * 1000) + LEASE_GRACE_MS
            claim = KeyClaim(tenant_id, scope, key, fingerprint(event), event_id, received_ms, lease)
        for _ in range(CONFLICT_RETRIES):
            plan = self.planner.plan(tenant_id, event_id, event, received_ms, claim)
            try:
                await self.commit(plan.unit)
                break
            except IntegrityError:
                self.planner.release(plan)
                if claim is not None and (answer := await self._repeat(claim)) is not None:
                    return answer
                await self._reload(plan)
            except BaseException:
                self.planner.release(plan)
                raise
        else:
            raise Contention("too many concurrent clashes for this customer; retry the request")
        result, outcome = await self._deliver(plan, started + self.policy.deadline_s)
        if claim is not None:
            outcome.answers.append(KeyAnswer(tenant_id, claim.scope, claim.key, result.as_record()))
        self.commit.later(outcome)  # should it fail, the relay finds what it would have recorded
        self.observer.ingested(event["type"], time.monotonic() - started)
        return result

    async def _repeat(self, claim: KeyClaim) -> IngestResult | None:
        """The answer a repeated key gets; None when the key was not what clashed."""
        record = await self.blocking(self.idempotency.find, claim.tenant_id, claim.scope, claim.key)
        now_ms = int(time.time() * 1000)
        if record is None or record.expired(now_ms):
            return None
        if record.claim.fingerprint != claim.fingerprint:
            raise KeyReused(claim.key)
        if record.response is not None:
            return IngestResult.from_record(record.response)
        if record.leased(now_ms):
            raise RequestInProgress(max(1, -(-(record.claim.lease_until_ms - now_ms) // 1000)))
        # Its first request died unanswered, or its answer was lost: the event was recorded with the
        # key, so answer from what the event log and the dispatch records say now.
        result = await self.blocking(self.recorded_result, claim.tenant_id, record.claim.event_id)
        self.commit.later(UnitOfWork(answers=[KeyAnswer(claim.tenant_id, claim.scope, claim.key,
                                                        result.as_record())]))
        return result

    def recorded_result(self, tenant_id: str, event_id: str) -> IngestResult:
        """Blocking: an event's ingest answer as the records tell it."""
        entry = self.event_log.find(tenant_id, event_id)
        logged = entry.event
        result = IngestResult(event_id, logged.type, logged.customer_id, entry.stream_sequence)
        for outcome in logged.outcomes:
            if outcome.outcome != FIRED:
                continue
            result.matched.append(Matched(outcome.trigger_id, outcome.action_type))
            fired = dispatch_id(event_id, outcome.trigger_id)
            record = self.dispatch_log.get(tenant_id, fired)
            if record is not None and record.state.status == DELIVERED:
                try:
                    config = self.rebuilds.delivery(tenant_id, event_id, outcome.trigger_id, outcome.trigger_version,
                                                    fired).config
                except Undeliverable:
                    config = {}
                result.dispatched.append(Dispatched(outcome.trigger_id, outcome.action_type, fired, config))
            else:
                error = record.state.last_error if record is not None else None
                result.failed.append(DispatchFailed(outcome.trigger_id, outcome.action_type, fired,
                                                    error or "not delivered yet; the relay retries it"))
        return result

    async def _reload(self, plan: Plan) -> None:
        """Learn what the store holds for every aggregate the plan wanted to change."""
        for cache, key in plan.held:
            try:
                found = await self.blocking(self.journal.reload, cache.aggregate_id(key))
            except AggregateNotFoundError:
                found = None
            cache.learn(key, found)

    async def _deliver(self, plan: Plan, deadline: float) -> tuple[IngestResult, UnitOfWork]:
        publish = self._publish(plan, min(self.policy.publish_timeout_s, _left(deadline)))
        if plan.fires:
            sequence, *attempts = await asyncio.gather(publish, *(self._attempt(f, _left(deadline))
                                                                   for f in plan.fires))
        else:  # the common case: no task to spawn
            sequence, attempts = await publish, []
        logged = plan.event
        result = IngestResult(logged.event_id, logged.type, logged.customer_id, sequence)
        outcome = UnitOfWork(acks=[StreamAck(logged.event_id, sequence)] if sequence is not None else [])
        for outcome_of in logged.outcomes:
            if outcome_of.outcome != FIRED:
                self.observer.suppressed(outcome_of.outcome)
        for fire, attempt in zip(plan.fires, attempts):
            trigger = fire.trigger
            result.matched.append(Matched(trigger.trigger_id, trigger.action_type))
            self.observer.fired(trigger.action_type)
            self.observer.dispatched(trigger.action_type, "delivered" if attempt.delivered else "failed")
            if attempt.delivered:
                result.dispatched.append(Dispatched(trigger.trigger_id, trigger.action_type, fire.dispatch_id,
                                                    fire.delivery.config))
            else:
                result.failed.append(DispatchFailed(trigger.trigger_id, trigger.action_type, fire.dispatch_id,
                                                    attempt.error))
            outcome.dispatches.append(self._first_record(plan, fire, attempt))
        return result, outcome

    async def _publish(self, plan: Plan, timeout: float) -> int | None:
        logged = plan.event
        try:
            async with asyncio.timeout(timeout):
                sequence = await self.sender.publish(event_subject(logged.tenant_id, logged.type), logged.event_id,
                                                     orjson.dumps(logged.body))
        except Exception:  # a timeout or an outage: the relay publishes it later
            self.observer.published("deferred")
            return None
        self.observer.published("acknowledged")
        return sequence

    async def _attempt(self, fire: Fire, timeout: float) -> Attempt:
        if fire.delivery is None:
            return undeliverable(fire.failure)
        return await self.sender.attempt(fire.delivery, timeout)

    def _first_record(self, plan: Plan, fire: Fire, attempt: Attempt) -> DispatchRecord:
        trigger, logged = fire.trigger, plan.event
        state = after_attempt(DispatchState(PENDING), 1, attempt, self.policy.retry_schedule)
        target = (fire.delivery.target if fire.delivery else
                  trigger.action_config.get("url") or action_subject(logged.tenant_id, trigger.action_type))
        return DispatchRecord(fire.dispatch_id, logged.tenant_id, trigger.trigger_id, trigger.version,
                              logged.event_id, logged.customer_id, trigger.action_type, target, state,
                              (attempt.as_dict(),), logged.received_at_ms)


def _left(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())
