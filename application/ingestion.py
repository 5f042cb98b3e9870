"""Ingestion, the process manager: record an event, then stream it, evaluate it and dispatch.

One request: evaluate against the in-memory index → commit the event, cooldown fires, pending
dispatches and their outbox messages in one unit → publish and dispatch concurrently under the
deadline → record the outcomes. Whatever the request could not deliver stays in the outbox for
the relay, so nothing acknowledged is lost.
"""

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.cooldowns import Cooldowns
from application.delivery import Deliveries
from application.journal import Journal
from application.ports import Blocking, Commit, Observer, OutboxMessage, UnitOfWork
from application.trigger_index import ActiveTrigger, TriggerIndex
from domain.actions import public_config
from domain.cooldown import CustomerCooldown
from domain.customer_events import CustomerEvent, trigger_event_types
from domain.dispatch import Dispatch
from domain.idempotency import IdempotentRequest

CONFLICT_RETRIES = 5


class RequestInProgress(Exception):
    """The Idempotency-Key belongs to a request that has not been answered yet."""


@dataclass(frozen=True)
class IngestPolicy:
    deadline_s: float = 2.0
    publish_timeout_s: float = 0.5
    first_retry_ms: int = 1000


@dataclass
class Fire:
    trigger: ActiveTrigger
    message: OutboxMessage  # its id is the dispatch's public id


@dataclass
class Plan:
    unit: UnitOfWork
    event_message: OutboxMessage
    fires: list[Fire] = field(default_factory=list)
    cooldown_keys: list = field(default_factory=list)
    request: IdempotentRequest | None = None


class Ingestion:
    def __init__(self, journal: Journal, index: TriggerIndex, cooldowns: Cooldowns, commit: Commit,
                 deliveries: Deliveries, blocking: Blocking, observer: Observer, policy: IngestPolicy):
        self.journal = journal
        self.index = index
        self.cooldowns = cooldowns
        self.commit = commit
        self.deliveries = deliveries
        self.blocking = blocking
        self.observer = observer
        self.policy = policy
        # Unique without a system call per event: a random prefix per process, then a counter.
        prefix = "evt_" + secrets.token_hex(6)
        self._event_ids = (f"{prefix}{n:012x}" for n in itertools.count())

    def _next_event_id(self) -> str:
        return next(self._event_ids)

    async def ingest(self, tenant_id: str, event: dict, idempotency_key: str | None = None) -> dict:
        """`event` has type, customerId, data, channel and timestamp (ISO 8601)."""
        started = time.monotonic()
        now_ms = int(time.time() * 1000)
        message = _stream_body(tenant_id, self._next_event_id(), event, now_ms)
        for _ in range(CONFLICT_RETRIES):
            request = None
            if idempotency_key is not None:
                request = await self._idempotent_request(tenant_id, idempotency_key, message["id"], now_ms)
                if request.response is not None:
                    return request.response
            plan = self._plan(tenant_id, message, now_ms, request)
            try:
                await self.commit(plan.unit)
                break
            except IntegrityError:
                await self._reload(plan.cooldown_keys)
            except BaseException:
                for key in plan.cooldown_keys:  # never let the cache run ahead of the store
                    self.cooldowns.forget(key)
                raise
        else:
            raise IntegrityError("too many concurrent clashes; retry the request")
        response = await self._deliver(plan, started)
        outcome = self._outcome(plan, response)
        if plan.request is not None:
            plan.request.answer(response)
            answer = plan.request.collect_events()
            try:
                await self.commit(UnitOfWork(outcome.events + answer, outbox_done=outcome.outbox_done))
            except IntegrityError:  # the relay recorded a dispatch outcome first: the answer must still be kept
                await self.commit(UnitOfWork(answer, outbox_done=outcome.outbox_done))
        elif outcome.events or outcome.outbox_done:
            self.commit.later(outcome)  # should it fail, the outbox still holds the messages: the relay settles them
        self.observer.ingested(event["type"], time.monotonic() - started)
        return response

    async def _idempotent_request(self, tenant_id, key, event_id, now_ms) -> IdempotentRequest:
        try:
            request = await self.blocking(self.journal.repository.get, IdempotentRequest.create_id(tenant_id, key))
        except AggregateNotFoundError:
            return IdempotentRequest(tenant_id, key, event_id, now_ms)
        if request.expired(now_ms):
            request.reuse(event_id, now_ms)
        elif request.response is None:
            raise RequestInProgress(key)
        return request

    def _plan(self, tenant_id: str, message: dict, now_ms: int, request) -> Plan:
        event_id, data = message["id"], message["data"]
        envelope = {"type": message["type"], "customerId": message["customerId"],
                    "channel": message["channel"], "timestamp": message["timestamp"]}
        recorded = CustomerEvent.recorded(tenant_id, event_id, message)
        event_message = OutboxMessage(event_id, "event", tenant_id,
                                      f"tripcord.events.{tenant_id}.{message['type']}", message,
                                      self._first_retry_at(now_ms), attempts=1)
        plan = Plan(UnitOfWork(events=[recorded], outbox_added=[event_message]),
                    event_message, request=request)
        if request is not None:
            plan.unit.events += request.collect_events()
        for trigger in self.index.matching(tenant_id, tuple(message["triggerEventTypes"]), data, envelope):
            if trigger.cooldown_ms > 0:
                cooldown = self.cooldowns.try_fire(tenant_id, trigger.trigger_id, message["customerId"],
                                                   trigger.cooldown_ms, now_ms, event_id)
                if cooldown is None:
                    continue
                plan.cooldown_keys.append((tenant_id, trigger.trigger_id, message["customerId"]))
                plan.unit.events.append(cooldown)
            requested = Dispatch.requested(tenant_id, event_id, trigger.trigger_id, trigger.version,
                                           trigger.action_type)
            fire = self._fire(trigger, Dispatch.public_id_of(requested.originator_id), message, now_ms)
            plan.fires.append(fire)
            plan.unit.events.append(requested)
            plan.unit.outbox_added.append(fire.message)
        return plan

    def _fire(self, trigger: ActiveTrigger, dispatch_id: str, message: dict, now_ms: int) -> Fire:
        tenant_id = trigger.tenant_id
        body = {
            "dispatchId": dispatch_id,
            "tenantId": tenant_id,
            "trigger": {"id": trigger.trigger_id, "name": trigger.name, "version": trigger.version},
            "event": message,
            "config": public_config(trigger.action_config),
            "dispatchedAt": message["receivedAt"],
        }
        due = self._first_retry_at(now_ms)
        if trigger.action_type == "webhook":
            config = trigger.action_config
            target = {"method": config["method"], "headers": config["headers"], "secret": config.get("secret")}
            outbox = OutboxMessage(dispatch_id, "webhook", tenant_id, config["url"], body, due, target, attempts=1)
        else:
            subject = f"tripcord.actions.{tenant_id}.{trigger.action_type}"
            outbox = OutboxMessage(dispatch_id, "action", tenant_id, subject, body, due, attempts=1)
        return Fire(trigger, outbox)

    def _first_retry_at(self, now_ms: int) -> int:
        # Not before the request's own attempt has run out: the relay must not send a second copy meanwhile.
        return now_ms + int(self.policy.deadline_s * 1000) + self.policy.first_retry_ms

    async def _reload(self, keys: list) -> None:
        for key in keys:
            self.cooldowns.forget(key)
            try:
                self.cooldowns.learn(key, await self.blocking(self.journal.repository.get,
                                                              CustomerCooldown.create_id(*key)))
            except AggregateNotFoundError:
                pass

    async def _deliver(self, plan: Plan, started: float) -> dict:
        deadline = started + self.policy.deadline_s
        publish = self._attempt(plan.event_message, min(self.policy.publish_timeout_s, _left(deadline)))
        if plan.fires:
            attempts = [self._attempt(fire.message, _left(deadline)) for fire in plan.fires]
            (sequence, stream_error), *outcomes = await asyncio.gather(publish, *attempts)
        else:  # the common case: no task to spawn
            (sequence, stream_error), outcomes = await publish, []
        self.observer.published("acknowledged" if stream_error is None else "deferred")
        message = plan.event_message.body
        response = {
            "ingested": True,
            "eventId": message["id"],
            "eventType": message["type"],
            "customerId": message["customerId"],
            "streamId": message["id"] if stream_error is None else None,
            "streamSequence": sequence if stream_error is None else None,
            "triggersMatched": [{"triggerId": f.trigger.trigger_id, "actionType": f.trigger.action_type}
                                for f in plan.fires],
            "actionsDispatched": [],
        }
        errors = []
        for fire, (_, error) in zip(plan.fires, outcomes):
            self.observer.fired(fire.trigger.tenant_id, fire.trigger.trigger_id)
            self.observer.dispatched(fire.trigger.action_type, "delivered" if error is None else "failed")
            entry = {"triggerId": fire.trigger.trigger_id, "actionType": fire.trigger.action_type,
                     "dispatchId": fire.message.id}
            if error is None:
                response["actionsDispatched"].append({**entry, "config": fire.message.body["config"]})
            else:
                errors.append({**entry, "error": error})
        if errors:
            response["actionErrors"] = errors
        return response

    async def _attempt(self, message: OutboxMessage, timeout: float) -> tuple[int | None, str | None]:
        try:
            async with asyncio.timeout(timeout):
                return await self.deliveries.send(message, timeout), None
        except asyncio.TimeoutError:
            return None, f"no answer within {timeout:.2f} s; will retry"
        except Exception as error:  # any failure is reported and left to the relay
            return None, f"{error or type(error).__name__}; will retry"

    def _outcome(self, plan: Plan, response: dict) -> UnitOfWork:
        unit = UnitOfWork()
        if response["streamId"] is not None:
            unit.outbox_done.append(plan.event_message.id)
        failed = {e["dispatchId"]: e["error"] for e in response.get("actionErrors", ())}
        for fire in plan.fires:
            error = failed.get(fire.message.id)
            if error is None:
                unit.outbox_done.append(fire.message.id)
            unit.events.append(Dispatch.first_attempt(fire.message.id, error))
        return unit


def _left(deadline: float) -> float:
    return max(0.001, deadline - time.monotonic())


def _stream_body(tenant_id: str, event_id: str, event: dict, now_ms: int) -> dict:
    received = _iso_ms(now_ms)
    return {
        "id": event_id,
        "tenantId": tenant_id,
        "type": event["type"],
        "customerId": event["customerId"],
        "channel": event.get("channel"),
        "timestamp": event.get("timestamp") or received,
        "receivedAt": received,
        "data": event.get("data") or {},
        "triggerEventTypes": list(trigger_event_types(event["type"])),
    }


def _iso_ms(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
