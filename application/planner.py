"""The ingest planner: what one event records and sends, decided in memory with no I/O.

It evaluates the tenant's active triggers in order (priority, then age), and for each match
decides fired, cooldown or frequency_capped from the cooldown and allowance caches; a paused
trigger that matches is recorded as paused_since, and nothing more. A fire
records the aggregates' next versions (the store refuses them should another process have fired
first) and renders its delivery. The orchestrator (application.ingestion) commits and sends.
"""

import time
from dataclasses import dataclass, field
from functools import lru_cache
from heapq import merge
from operator import itemgetter
from typing import Callable

from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.deliveries import Undeliverable, build_delivery
from application.ports import Delivery
from application.records import LoggedEvent, TriggerOutcome, UnitOfWork
from application.trigger_index import IndexedTrigger, TriggerIndex
from domain.customer_events import COOLDOWN, FIRED, FREQUENCY_CAPPED, PAUSED, trigger_event_types
from domain.dispatch import dispatch_id
from domain.frequency_caps import FrequencyCap
from domain.idempotency import KeyClaim

NO_CAPS: tuple = ()


@dataclass
class Fire:
    trigger: IndexedTrigger
    dispatch_id: str
    delivery: Delivery | None  # None when it cannot be sent: `failure` says why
    failure: str | None = None


@dataclass
class Plan:
    event: LoggedEvent
    unit: UnitOfWork
    fires: list[Fire] = field(default_factory=list)
    held: list[tuple] = field(default_factory=list)  # (cache, key, events to learn from) taken ahead of the commit
    claim: KeyClaim | None = None

    @property
    def message(self) -> dict:
        return self.event.body


class Planner:
    def __init__(self, index: TriggerIndex, cooldowns: Cooldowns, allowances: Allowances,
                 caps: Callable[[str], tuple[FrequencyCap, ...]] = lambda tenant_id: NO_CAPS):
        self.index = index
        self.cooldowns = cooldowns
        self.allowances = allowances
        self.caps = caps

    def plan(self, tenant_id: str, event_id: str, event: dict, received_ms: int,
             claim: KeyClaim | None = None) -> Plan:
        """`event` has type, customerId, data, and optionally channel and timestamp (ISO 8601)."""
        message = stream_body(tenant_id, event_id, event, received_ms)
        customer = message["customerId"]
        envelope = {"type": message["type"], "customerId": customer, "channel": message["channel"],
                    "timestamp": message["timestamp"]}
        unit = UnitOfWork(claims=[claim] if claim else [])
        plan = Plan(None, unit, claim=claim)
        outcomes = []
        caps = self.caps(tenant_id)
        types = tuple(message["triggerEventTypes"])
        matched = self.index.matching(tenant_id, types, message["data"], envelope)
        for trigger in matched:
            outcome = self._decide(plan, trigger, customer, caps, received_ms, event_id)
            outcomes.append(TriggerOutcome(trigger.trigger_id, trigger.version, trigger.action_type, outcome))
            if outcome == FIRED:
                plan.fires.append(self._fire(trigger, message))
        paused = self.index.matching(tenant_id, types, message["data"], envelope, paused=True)
        if paused:  # recorded, never fired: the look-up shows what a paused trigger would have matched
            outcomes = _in_order(matched, outcomes, paused)
        plan.event = LoggedEvent(tenant_id, event_id, customer, message["type"], received_ms, message,
                                 tuple(outcomes))
        unit.logged.append(plan.event)
        return plan

    def _decide(self, plan: Plan, trigger: IndexedTrigger, customer: str, caps: tuple, now_ms: int,
                event_id: str) -> str:
        cooldown_key = (trigger.tenant_id, trigger.trigger_id, customer)
        if trigger.cooldown_ms and not self.cooldowns.window_open(cooldown_key, trigger.cooldown_ms, now_ms):
            return COOLDOWN
        capping = () if trigger.ignore_frequency_caps else [
            (cap, (trigger.tenant_id, customer, cap.cap_id)) for cap in caps if cap.applies_to(trigger.action_type)]
        if any(not self.allowances.allows(key, cap, now_ms) for cap, key in capping):
            return FREQUENCY_CAPPED
        if trigger.cooldown_ms:
            plan.unit.events.append(self.cooldowns.fire(cooldown_key, now_ms, event_id))
            plan.held.append((self.cooldowns, cooldown_key, Cooldowns.DEPTH))
        for cap, key in capping:  # higher-priority triggers come first, and so take the budget first
            plan.unit.events.append(self.allowances.spend(key, cap, now_ms))
            plan.held.append((self.allowances, key, cap.limit))
        return FIRED

    def _fire(self, trigger: IndexedTrigger, message: dict) -> Fire:
        fired = dispatch_id(message["id"], trigger.trigger_id)
        try:
            return Fire(trigger, fired, build_delivery(trigger.spec, message, fired))
        except Undeliverable as reason:
            return Fire(trigger, fired, None, str(reason))

    @staticmethod
    def release(plan: Plan) -> None:
        """The plan was not committed: what it took ahead must not stay in the caches."""
        for cache, key, _ in plan.held:
            cache.forget(key)


def _in_order(matched: list[IndexedTrigger], outcomes: list[TriggerOutcome],
              paused: list[IndexedTrigger]) -> list[TriggerOutcome]:
    """The active triggers' outcomes and the paused ones' together, in evaluation order."""
    decided = zip((t.order for t in matched), outcomes)
    held = ((t.order, TriggerOutcome(t.trigger_id, t.version, t.action_type, PAUSED)) for t in paused)
    return [outcome for _, outcome in merge(decided, held, key=itemgetter(0))]


def stream_body(tenant_id: str, event_id: str, event: dict, received_ms: int) -> dict:
    """The event as the stream publishes it and the event log keeps it."""
    received = iso_ms(received_ms)
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


def iso_ms(ms: int) -> str:
    return f"{_iso_second(ms // 1000)}.{ms % 1000:03d}Z"


@lru_cache(maxsize=8)
def _iso_second(second: int) -> str:
    """Every event received in the same second shares its text: formatting it cost 2 µs an event."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
