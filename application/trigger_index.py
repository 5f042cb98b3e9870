"""The in-memory index of active triggers that ingestion evaluates, with no query per event.

It is fed listing rows by projection position, so every process converges on the same rules:
its own changes are applied at once, other processes' within one poll.

Triggers with equal conditions share one compiled Condition (tenants clone a rule to send it to
several actions), and an event runs each distinct condition once, however many triggers hold it.
"""

import json
import threading
import weakref
from bisect import bisect_left, insort
from dataclasses import dataclass
from heapq import merge
from operator import attrgetter

from application.deliveries import TriggerSpec
from application.ports import InvalidTemplate, RenderFailed, Templates
from application.condition_index import evaluator
from domain.conditions import Condition
from domain.customer_events import INGEST_TYPES, trigger_event_types


NO_TYPES: dict = {}


@dataclass(frozen=True, slots=True)
class ActiveTrigger:
    tenant_id: str
    trigger_id: str
    name: str
    version: int
    event_type: str
    action_type: str
    action_config: dict
    condition: Condition
    priority: int
    cooldown_ms: int
    ignore_frequency_caps: bool
    created_at: object
    spec: TriggerSpec

    @property
    def order(self) -> tuple:
        # Higher priority first, then oldest first; the id only breaks exact ties.
        return (-self.priority, self.created_at, self.trigger_id)


_order = attrgetter("order")


class TriggerIndex:
    """Readers (the event loop) never lock: a writer builds new maps and swaps them in whole.

    A change re-copies only the (tenant, event type) groups it touches, each kept sorted by
    insertion, so its cost follows the triggers that share its event type, not all of them."""

    def __init__(self, templates: Templates):
        self.templates = templates
        self.position = 0
        self._write = threading.Lock()
        self._positions: dict[tuple[str, str], int] = {}
        # The writer's own, changed in place under the lock: the active triggers by (tenant, id),
        # and each (tenant, event type) group's in evaluation order.
        self._active: dict[tuple[str, str], ActiveTrigger] = {}
        self._groups: dict[tuple[str, str], list[ActiveTrigger]] = {}
        # What readers see: tenant → event type → its triggers in evaluation order.
        self._by_type: dict[str, dict[str, tuple[ActiveTrigger, ...]]] = {}
        # tenant → the event types of an event → its evaluation (built for each ingest type on change).
        self._merged: dict[str, dict[tuple[str, ...], Evaluation]] = {}
        # Gone once no trigger holds it, so deleted rules leave nothing behind.
        self._conditions: weakref.WeakValueDictionary[str, Condition] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        return len(self._active)

    def apply(self, rows: list[dict], position: int) -> None:
        with self._write:
            touched = set()
            for row in rows:
                key = (row["tenant_id"], row["trigger_id"])
                if self._positions.get(key, -1) >= row["position"]:
                    continue  # a newer state of this trigger is already applied
                self._positions[key] = row["position"]
                old = self._active.pop(key, None)
                if old is not None:
                    group = self._groups[(old.tenant_id, old.event_type)]
                    del group[bisect_left(group, old.order, key=_order)]
                    touched.add((old.tenant_id, old.event_type))
                if row["status"] == "active" and not row["deleted"]:
                    new = self._active[key] = self._active_trigger(row)
                    insort(self._groups.setdefault((new.tenant_id, new.event_type), []), new, key=_order)
                    touched.add((new.tenant_id, new.event_type))
            tenants: dict[str, dict] = {}
            for tenant_id, event_type in touched:
                if tenant_id not in tenants:
                    tenants[tenant_id] = dict(self._by_type.get(tenant_id, NO_TYPES))
                group = self._groups.get((tenant_id, event_type))
                if group:
                    tenants[tenant_id][event_type] = tuple(group)
                else:
                    tenants[tenant_id].pop(event_type, None)
                    self._groups.pop((tenant_id, event_type), None)
            by_type = {**self._by_type, **tenants}
            merged = {tenant_id: _evaluations(by_type.get(tenant_id, NO_TYPES)) for tenant_id in tenants}
            self._by_type, self._merged = by_type, {**self._merged, **merged}
            self.position = max(self.position, position)

    def matching(self, tenant_id: str, event_types: tuple[str, ...], data: dict,
                 envelope: dict) -> list[ActiveTrigger]:
        """The candidates whose condition holds for this event, in evaluation order."""
        evaluation = self._evaluation(tenant_id, event_types)
        hits = evaluation.hits(data, envelope)
        if not hits:
            return []
        triggers, held_by = evaluation.triggers, evaluation.held_by
        if len(hits) == 1:
            return [triggers[n] for n in held_by[hits[0]]]
        return [triggers[n] for n in sorted(n for slot in hits for n in held_by[slot])]

    def candidates(self, tenant_id: str, event_types: tuple[str, ...]) -> tuple[ActiveTrigger, ...]:
        """The tenant's active triggers for any of these types, in evaluation order."""
        return self._evaluation(tenant_id, event_types).triggers

    def _evaluation(self, tenant_id: str, event_types: tuple[str, ...]) -> "Evaluation":
        found = self._merged.get(tenant_id, NO_TYPES).get(event_types)
        if found is None:  # a combination no ingest type has (the dry run's, say): built once, kept
            found = _evaluation(self._by_type.get(tenant_id, NO_TYPES), event_types)
            self._merged.setdefault(tenant_id, {})[event_types] = found
        return found

    def _shared(self, raw: dict | None) -> Condition:
        key = json.dumps(raw, sort_keys=True)  # 1 and 1.0 stay apart: only equal JSON is shared
        condition = self._conditions.get(key)
        if condition is None:
            condition = self._conditions[key] = Condition.parse(raw)
        return condition


    def _active_trigger(self, row: dict) -> ActiveTrigger:
        return ActiveTrigger(
            tenant_id=row["tenant_id"],
            trigger_id=row["trigger_id"],
            name=row["name"],
            version=row["version"],
            event_type=row["event_type"],
            action_type=row["action_type"],
            action_config=row["action_config"],
            condition=self._shared(row["condition"]),
            priority=row["priority"],
            cooldown_ms=row["cooldown_ms"],
            ignore_frequency_caps=row.get("ignore_frequency_caps", False),
            created_at=row["created_at"],
            spec=trigger_spec(self.templates, row),
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The candidates for an event's types, their distinct conditions, which of those each candidate
    holds, and how the conditions are run (indexed when there are many)."""

    triggers: tuple
    conditions: tuple
    held_by: tuple  # per condition, the positions of the candidates that hold it
    hits: object  # (data, envelope) → the positions of the conditions that hold


def _evaluation(types: dict, event_types: tuple[str, ...]) -> Evaluation:
    lists = [types.get(t, ()) for t in event_types]
    triggers = lists[0] if len(lists) == 1 else tuple(merge(*lists, key=_order))
    held_by: dict[Condition, list[int]] = {}
    for position, trigger in enumerate(triggers):
        held_by.setdefault(trigger.condition, []).append(position)
    conditions = tuple(held_by)
    return Evaluation(triggers, conditions, tuple(map(tuple, held_by.values())), evaluator(conditions))


def _evaluations(types: dict) -> dict[tuple[str, ...], Evaluation]:
    """A tenant's evaluation for each ingest type, built ahead of its events."""
    return {event_types: _evaluation(types, event_types)
            for event_types in map(trigger_event_types, INGEST_TYPES)}


def trigger_spec(templates: Templates, state: dict) -> TriggerSpec:
    """A trigger's delivery spec, from a listing row or a trigger's state at one version."""
    try:
        compiled = templates.compile(state["action_config"])
    except InvalidTemplate as error:  # saved before templates were checked: every dispatch fails, saying why
        compiled = _Unrenderable(str(error))
    return TriggerSpec(state["tenant_id"], state["trigger_id"], state["name"], state["version"],
                       state["action_type"], state["action_config"], compiled)


class _Unrenderable:
    def __init__(self, reason: str):
        self.reason = reason

    def render(self, context: dict) -> dict:
        raise RenderFailed(self.reason)
