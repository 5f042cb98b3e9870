"""Ingestion, the orchestrator: commit what the planner decided, then stream each event and deliver its fires.

One request, one event or a batch of them: plan in memory, in order → commit each event with its
fires' aggregates and its key (a unit each, group-committed) → publish and attempt every fire
concurrently under the deadline → queue the outcomes (the stream's acknowledgements, the dispatch
records, the keys' answers) for the next commit → answer. Whatever a request could not send or
record, the relay finds in the event log and finishes: nothing acknowledged is lost, and no outbox
row is written and deleted per message.
"""

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass

import orjson
from eventsourcing.persistence import IntegrityError

from application.deliveries import Sender, published, undeliverable
from application.ingest_results import Dispatched, DispatchFailed, IngestResult, Matched
from application.planner import Fire, Plan, Planner
from application.ports import AggregateHeads, Blocking, Commit, DataRejected, Observer
from application.records import DispatchRecord, KeyAnswer, StreamAck, UnitOfWork
from application.repeats import KeyReused, Repeats
from application.subjects import action_subject, event_subject
from application.tenant_settings import TenantSettings
from domain.customer_events import SUPPRESSIONS
from domain.dispatch import (DEFAULT_RETRY_SCHEDULE_S, EVENT_ID_PREFIX, PENDING, Attempt, DispatchState,
                             after_attempt)
from domain.idempotency import HEADER, LEASE_GRACE_MS, MESSAGE, KeyClaim, fingerprint

CONFLICT_RETRIES = 5


class Contention(Exception):
    """Concurrent fires for the same customers clashed more often than the retries allow."""


class NotRecorded(Exception):
    """A batch event that could not be recorded (the database failed); its messageId makes a retry safe."""


@dataclass(frozen=True)
class IngestPolicy:
    deadline_s: float = 2.0
    publish_timeout_s: float = 0.5
    retry_schedule: tuple = DEFAULT_RETRY_SCHEDULE_S


@dataclass
class Item:
    """One event of a request, on its way to an answer or an error."""

    event: dict
    event_id: str
    claim: KeyClaim | None
    plan: Plan | None = None
    result: IngestResult | None = None
    error: Exception | None = None
    same_as: "Item | None" = None  # an earlier event of the batch with the same message id and body


class Ingestion:
    def __init__(self, planner: Planner, commit: Commit, sender: Sender, heads: AggregateHeads, repeats: Repeats,
                 blocking: Blocking, observer: Observer, settings: TenantSettings, policy: IngestPolicy):
        self.planner = planner
        self.commit = commit
        self.sender = sender
        self.heads = heads
        self.repeats = repeats
        self.blocking = blocking
        self.observer = observer
        self.settings = settings
        self.policy = policy
        # Unique without a system call per event: a random prefix per process, then a counter.
        prefix = EVENT_ID_PREFIX + secrets.token_hex(6)
        self._event_ids = (f"{prefix}{n:012x}" for n in itertools.count())

    async def ingest(self, tenant_id: str, event: dict, key: str | None = None) -> IngestResult:
        """`event` has type, customerId, data, channel and timestamp (ISO 8601). Raises DataRejected when
        the data breaks its type's schema, KeyReused or RequestInProgress for a repeated key."""
        self.settings.check(tenant_id, event["type"], event["data"])
        started, received_ms = time.monotonic(), int(time.time() * 1000)
        item = self._item(tenant_id, event, key, HEADER, received_ms)
        await self._commit(tenant_id, [item], received_ms, alone=True)
        if item.error is not None:
            raise item.error
        if item.result is None:
            self.commit.later(await self._deliver([item], started + self.policy.deadline_s))
        self.observer.ingested(event["type"], time.monotonic() - started)
        return item.result

    async def ingest_batch(self, tenant_id: str, events: list) -> list:
        """`events` holds events (with an optional messageId) or the error each failed validation with;
        the answer holds, in order, an IngestResult or an error per event. One bad event fails only
        itself, and one customer's events are decided in their order in the batch."""
        started, received_ms = time.monotonic(), int(time.time() * 1000)
        items, by_key = [], {}
        for event in events:
            if isinstance(event, Exception):
                items.append(Item({}, "", None, error=event))
                continue
            try:
                self.settings.check(tenant_id, event["type"], event["data"])
            except DataRejected as rejected:
                items.append(Item(event, "", None, error=rejected))
                continue
            item = self._item(tenant_id, event, event.pop("messageId", None), MESSAGE, received_ms)
            first = by_key.setdefault(item.claim.key, item) if item.claim else item
            if first is not item:  # the batch repeats a message id: it stands for the first event
                item.same_as = first
                if first.claim.fingerprint != item.claim.fingerprint:
                    item.error = KeyReused(item.claim.key)
            items.append(item)
        await self._commit(tenant_id, [i for i in items if i.error is None and i.same_as is None], received_ms,
                           alone=False)
        planned = [i for i in items if i.plan is not None and i.result is None and i.error is None]
        if planned:
            self.commit.later(await self._deliver(planned, started + self.policy.deadline_s))
        for item in planned:
            self.observer.ingested(item.event["type"], time.monotonic() - started)
        for item in items:
            if item.same_as is not None and item.error is None:
                item.result, item.error = item.same_as.result, item.same_as.error
        return [item.error or item.result for item in items]

    def _item(self, tenant_id: str, event: dict, key: str | None, scope: str, received_ms: int) -> Item:
        event_id = next(self._event_ids)
        claim = None
        if key is not None:
            lease = received_ms + int(self.policy.deadline_s * 1000) + LEASE_GRACE_MS
            claim = KeyClaim(tenant_id, scope, key, fingerprint(event), event_id, received_ms, lease)
        return Item(event, event_id, claim)

    async def _commit(self, tenant_id: str, items: list[Item], received_ms: int, alone: bool) -> None:
        """Plans and commits every item, in order; a refused one is planned again after learning what
        the store holds, unless its key was what clashed (then it is a repeat, answered as such).
        Alone (a single ingest), a failure is raised; in a batch it becomes that event's answer."""
        waiting = items
        for _ in range(CONFLICT_RETRIES):
            for item in waiting:
                item.plan = self.planner.plan(tenant_id, item.event_id, item.event, received_ms, item.claim)
            if len(waiting) == 1:  # the common case: no list of futures
                outcomes = [await _settled(self.commit(waiting[0].plan.unit))]
            else:
                outcomes = await self.commit.many([i.plan.unit for i in waiting])
            clashed = []
            for item, outcome in zip(waiting, outcomes):
                if outcome is None:
                    continue
                self.planner.release(item.plan)
                if not isinstance(outcome, IntegrityError):
                    if alone:
                        raise outcome
                    item.plan, item.error = None, NotRecorded(
                        f"the event was not recorded ({type(outcome).__name__}); send it again with its messageId")
                    continue
                clashed.append(item)
            for item in clashed:
                try:
                    item.result = item.claim and await self.repeats.answer(item.claim)
                except Exception as error:  # KeyReused or RequestInProgress: the answer for this event
                    if alone:
                        raise
                    item.error = error
            waiting = []
            for item in clashed:
                if item.result is None and item.error is None:
                    waiting.append(item)
                else:
                    item.plan = None
            if not waiting:
                return
            await self._learn([i.plan for i in waiting])
        for item in waiting:
            item.plan, item.error = None, Contention("too many concurrent clashes for this customer; retry the request")
        if alone:
            raise waiting[0].error

    async def _learn(self, plans: list[Plan]) -> None:
        """Learn what the store holds for every aggregate the refused plans wanted to change: one read."""
        held = {cache.aggregate_id(key): (cache, key, depth) for plan in plans for cache, key, depth in plan.held}
        heads = await self.blocking(self.heads.latest, {aggregate_id: depth for aggregate_id, (_, _, depth)
                                                         in held.items()})
        for aggregate_id, (cache, key, _) in held.items():
            cache.learn(key, heads.get(aggregate_id, []))

    async def _deliver(self, items: list[Item], deadline: float) -> UnitOfWork:
        """Publishes every event and every stream action together, with one wait for all their
        acknowledgements (no task or timer each), while webhooks are attempted; answers each item
        and returns the outcomes to record."""
        at_ms, started = int(time.time() * 1000), time.monotonic()
        fires = [f for i in items for f in i.plan.fires]
        hooks = [self._attempt(f, _left(deadline)) for f in fires if not _streams(f)]
        hooking = asyncio.gather(*hooks) if hooks else None
        messages = [(event_subject(i.plan.event.tenant_id, i.plan.event.type), i.plan.event.event_id,
                     orjson.dumps(i.plan.event.body)) for i in items]
        messages += [(f.delivery.target, f.delivery.dispatch_id, f.delivery.body) for f in fires if _streams(f)]
        outcomes = await self.sender.publish_many(messages, min(self.policy.publish_timeout_s, _left(deadline)))
        acks, answered = iter(outcomes[len(items):]), iter(await hooking if hooking is not None else ())
        tried = iter([published(at_ms, started, next(acks)) if _streams(f) else next(answered) for f in fires])
        outcome = UnitOfWork()
        for item, published_as in zip(items, outcomes):
            logged = item.plan.event
            sequence = None if isinstance(published_as, Exception) else published_as
            self.observer.published("deferred" if sequence is None else "acknowledged")  # deferred: the relay sends it
            item.result = result = IngestResult(logged.event_id, logged.type, logged.customer_id, sequence)
            if sequence is not None:
                outcome.acks.append(StreamAck(logged.event_id, sequence))
            for trigger_outcome in logged.outcomes:
                if trigger_outcome.outcome in SUPPRESSIONS:
                    self.observer.suppressed(trigger_outcome.outcome)
            for fire in item.plan.fires:
                attempt = next(tried)
                self._answer(result, fire, attempt)
                outcome.dispatches.append(self._first_record(item.plan, fire, attempt))
            if item.claim is not None:
                outcome.answers.append(KeyAnswer(item.claim.tenant_id, item.claim.scope, item.claim.key,
                                                 result.as_record()))
        return outcome

    def _answer(self, result: IngestResult, fire: Fire, attempt: Attempt) -> None:
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


async def _settled(commit) -> BaseException | None:
    try:
        await commit
    except Exception as error:
        return error
    return None


def _streams(fire: Fire) -> bool:
    """Whether the fire's action goes to the stream, published with the request's events."""
    return fire.delivery is not None and not fire.delivery.is_webhook


def _left(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())
