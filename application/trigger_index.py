"""The in-memory index of the triggers that ingestion evaluates, with no query per event.

Active triggers decide; paused ones are kept apart and evaluated only to record that they would
have matched (the "paused_since" outcome), never to fire.

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
class IndexedTrigger:
    """A trigger as ingestion evaluates it: active, or paused (then only recorded when it matches)."""

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
    paused: bool = False

    @property
    def order(self) -> tuple:
        # Higher priority first, then oldest first; the id only breaks exact ties.
        return (-self.priority, self.created_at, self.trigger_id)


_order = attrgetter("order")


def _layer(tenant_id: str, paused: bool):
    """The key a tenant's triggers are grouped under: its active ones, or apart, its paused ones."""
    return ("paused", tenant_id) if paused else tenant_id


class TriggerIndex:
    """Readers (the event loop) never lock: a writer builds new maps and swaps them in whole.

    A change re-copies only the (tenant, event type) groups it touches, each kept sorted by
    insertion, and rebuilds only the evaluations those types take part in, so its cost follows the
    triggers that share its event type, not all of them."""

    def __init__(self, templates: Templates):
        self.templates = templates
        self.position = 0
        self._write = threading.Lock()
        self._positions: dict[tuple[str, str], int] = {}
        # The writer's own, changed in place under the lock: the indexed triggers by (tenant, id),
        # and each (layer, event type) group's in evaluation order.
        self._indexed: dict[tuple[str, str], IndexedTrigger] = {}
        self._groups: dict[tuple, list[IndexedTrigger]] = {}
        # What readers see: layer (_layer) → event type → its triggers in evaluation order.
        self._by_type: dict = {}
        # layer → the event types of an event → its evaluation (built for each ingest type on change).
        self._merged: dict = {}
        # The tenants with a paused trigger.
        self._pausing: frozenset[str] = frozenset()
        # Gone once no trigger holds it, so deleted rules leave nothing behind.
        self._conditions: weakref.WeakValueDictionary[str, Condition] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        """How many active triggers it holds."""
        return sum(not trigger.paused for trigger in self._indexed.values())

    def apply(self, rows: list[dict], position: int) -> None:
        with self._write:
            touched = set()
            for row in rows:
                key = (row["tenant_id"], row["trigger_id"])
                if self._positions.get(key, -1) >= row["position"]:
                    continue  # a newer state of this trigger is already applied
                self._positions[key] = row["position"]
                old = self._indexed.pop(key, None)
                if old is not None:
                    group_key = (_layer(old.tenant_id, old.paused), old.event_type)
                    group = self._groups[group_key]
                    del group[bisect_left(group, old.order, key=_order)]
                    touched.add(group_key)
                if not row["deleted"]:
                    new = self._indexed[key] = self._trigger(row)
                    group_key = (_layer(new.tenant_id, new.paused), new.event_type)
                    insort(self._groups.setdefault(group_key, []), new, key=_order)
                    touched.add(group_key)
            layers: dict = {}
            changed: dict = {}  # layer → its event types that changed
            for layer, event_type in touched:
                if layer not in layers:
                    layers[layer] = dict(self._by_type.get(layer, NO_TYPES))
                changed.setdefault(layer, set()).add(event_type)
                group = self._groups.get((layer, event_type))
                if group:
                    layers[layer][event_type] = tuple(group)
                else:
                    layers[layer].pop(event_type, None)
                    self._groups.pop((layer, event_type), None)
            by_type = {**self._by_type, **layers}
            merged = {layer: _evaluations(by_type.get(layer, NO_TYPES), self._merged.get(layer, NO_TYPES),
                                          changed[layer]) for layer in layers}
            self._by_type, self._merged = by_type, {**self._merged, **merged}
            self._pausing = frozenset(layer[1] for layer, types in by_type.items()
                                      if isinstance(layer, tuple) and types)  # a paused layer with triggers
            self.position = max(self.position, position)

    def matching(self, tenant_id: str, event_types: tuple[str, ...], data: dict, envelope: dict,
                 paused: bool = False) -> list[IndexedTrigger]:
        """The active candidates whose condition holds for this event, in evaluation order; with
        `paused`, the paused ones'."""
        if paused:
            if tenant_id not in self._pausing:  # the usual case, and the cheap one: nothing paused
                return []
            tenant_id = _layer(tenant_id, True)
        evaluation = self._evaluation(tenant_id, event_types)
        hits = evaluation.hits(data, envelope)
        if not hits:
            return []
        triggers, held_by = evaluation.triggers, evaluation.held_by
        if len(hits) == 1:
            return [triggers[n] for n in held_by[hits[0]]]
        return [triggers[n] for n in sorted(n for condition in hits for n in held_by[condition])]

    def candidates(self, tenant_id: str, event_types: tuple[str, ...]) -> tuple[IndexedTrigger, ...]:
        """The tenant's active triggers for any of these types, in evaluation order."""
        return self._evaluation(tenant_id, event_types).triggers

    def _evaluation(self, layer, event_types: tuple[str, ...]) -> "Evaluation":
        found = self._merged.get(layer, NO_TYPES).get(event_types)
        if found is None:  # a combination no ingest type has (the dry run's, say): built once, kept
            found = _evaluation(self._by_type.get(layer, NO_TYPES), event_types)
            self._merged.setdefault(layer, {})[event_types] = found
        return found

    def _shared(self, raw: dict | None) -> Condition:
        key = json.dumps(raw, sort_keys=True)  # 1 and 1.0 stay apart: only equal JSON is shared
        condition = self._conditions.get(key)
        if condition is None:
            condition = self._conditions[key] = Condition.parse(raw)
        return condition

    def _trigger(self, row: dict) -> IndexedTrigger:
        return IndexedTrigger(
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
            paused=row["status"] != "active",
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The candidates for an event's types, which of them hold each distinct condition, and how the
    conditions are run (indexed when there are many)."""

    triggers: tuple
    held_by: dict  # each distinct condition → the positions of the candidates that hold it
    hits: object  # (data, envelope) → the conditions that hold, in no order


def _evaluation(types: dict, event_types: tuple[str, ...], previous: Evaluation | None = None) -> Evaluation:
    lists = [types.get(t, ()) for t in event_types]
    triggers = lists[0] if len(lists) == 1 else tuple(merge(*lists, key=_order))
    held_by: dict[Condition, list[int]] = {}
    for position, trigger in enumerate(triggers):
        held_by.setdefault(trigger.condition, []).append(position)
    # The same conditions as before (a trigger renamed, moved in priority, or sent to one more
    # action with a condition another trigger holds): the index that finds them still serves.
    if previous is not None and previous.held_by.keys() == held_by.keys():
        return Evaluation(triggers, held_by, previous.hits)
    return Evaluation(triggers, held_by, evaluator(tuple(held_by)))


def _evaluations(types: dict, previous: dict, changed: set[str]) -> dict[tuple[str, ...], Evaluation]:
    """A tenant's evaluation for each ingest type, built ahead of its events. One that no changed
    type takes part in is kept as it was: a change to a page_view trigger leaves alone the index of
    the tenant's 10,000 conditions on purchase (docs/PERFORMANCE.md)."""
    return {event_types: (previous[event_types] if event_types in previous and changed.isdisjoint(event_types)
                          else _evaluation(types, event_types, previous.get(event_types)))
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
