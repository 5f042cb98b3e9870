"""The in-memory index of active triggers that ingestion evaluates, with no query per event.

It is fed listing rows by projection position, so every process converges on the same rules:
its own changes are applied at once, other processes' within one poll.

Triggers with equal conditions share one compiled Condition (tenants clone a rule to send it to
several actions), and an event runs each distinct condition once, however many triggers hold it.
"""

import json
import threading
import weakref
from dataclasses import dataclass
from heapq import merge

from domain.conditions import Condition


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
    created_at: object

    @property
    def order(self) -> tuple:
        # Higher priority first, then oldest first; the id only breaks exact ties.
        return (-self.priority, self.created_at, self.trigger_id)


class TriggerIndex:
    """Readers (the event loop) never lock: writers build new maps and swap them in whole."""

    def __init__(self):
        self.position = 0
        self._write = threading.Lock()
        self._positions: dict[tuple[str, str], int] = {}
        self._by_id: dict[tuple[str, str], ActiveTrigger] = {}
        self._by_type: dict[tuple[str, str], tuple[ActiveTrigger, ...]] = {}
        self._merged: dict[tuple[str, tuple[str, ...]], tuple[tuple, tuple, tuple]] = {}
        # Gone once no trigger holds it, so deleted rules leave nothing behind.
        self._conditions: weakref.WeakValueDictionary[str, Condition] = weakref.WeakValueDictionary()

    def __len__(self) -> int:
        return len(self._by_id)

    def apply(self, rows: list[dict], position: int) -> None:
        with self._write:
            by_id, touched = dict(self._by_id), set()
            for row in rows:
                key = (row["tenant_id"], row["trigger_id"])
                if self._positions.get(key, -1) >= row["position"]:
                    continue  # a newer state of this trigger is already applied
                self._positions[key] = row["position"]
                old = by_id.pop(key, None)
                if old is not None:
                    touched.add((old.tenant_id, old.event_type))
                if row["status"] == "active" and not row["deleted"]:
                    by_id[key] = _active(row, self._shared(row["condition"]))
                    touched.add((row["tenant_id"], row["event_type"]))
            groups: dict = {key: [] for key in touched}
            for trigger in by_id.values():
                group = groups.get((trigger.tenant_id, trigger.event_type))
                if group is not None:
                    group.append(trigger)
            by_type = dict(self._by_type)
            for key, group in groups.items():
                by_type[key] = tuple(sorted(group, key=lambda t: t.order))
            self._by_id, self._by_type, self._merged = by_id, by_type, {}
            self.position = max(self.position, position)

    def matching(self, tenant_id: str, event_types: tuple[str, ...], data: dict,
                 envelope: dict) -> list[ActiveTrigger]:
        """The candidates whose condition holds for this event, in evaluation order."""
        triggers, conditions, slots = self._evaluation(tenant_id, event_types)
        verdicts = [condition.matches(data, envelope) for condition in conditions]
        return [trigger for trigger, slot in zip(triggers, slots) if verdicts[slot]]

    def candidates(self, tenant_id: str, event_types: tuple[str, ...]) -> tuple[ActiveTrigger, ...]:
        """The tenant's active triggers for any of these types, in evaluation order."""
        return self._evaluation(tenant_id, event_types)[0]

    def _evaluation(self, tenant_id: str, event_types: tuple[str, ...]) -> tuple[tuple, tuple, tuple]:
        """The candidates, their distinct conditions, and which of those each candidate holds."""
        key = (tenant_id, event_types)
        merged = self._merged
        found = merged.get(key)
        if found is None:
            by_type = self._by_type
            lists = [by_type.get((tenant_id, t), ()) for t in event_types]
            triggers = lists[0] if len(lists) == 1 else tuple(merge(*lists, key=lambda t: t.order))
            slot_of: dict[Condition, int] = {}
            slots = tuple(slot_of.setdefault(t.condition, len(slot_of)) for t in triggers)
            found = merged[key] = (triggers, tuple(slot_of), slots)
        return found

    def _shared(self, raw: dict | None) -> Condition:
        key = json.dumps(raw, sort_keys=True)  # 1 and 1.0 stay apart: only equal JSON is shared
        condition = self._conditions.get(key)
        if condition is None:
            condition = self._conditions[key] = Condition.parse(raw)
        return condition


def _active(row: dict, condition: Condition) -> ActiveTrigger:
    return ActiveTrigger(
        tenant_id=row["tenant_id"],
        trigger_id=row["trigger_id"],
        name=row["name"],
        version=row["version"],
        event_type=row["event_type"],
        action_type=row["action_type"],
        action_config=row["action_config"],
        condition=condition,
        priority=row["priority"],
        cooldown_ms=row["cooldown_ms"],
        created_at=row["created_at"],
    )
