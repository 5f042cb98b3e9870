"""Frequency caps: how many dispatches one customer may get per rolling period, across all triggers.

A tenant's caps are one aggregate (its history is the audit); how much of a cap each customer has
used is a CustomerAllowance, one per (tenant, customer, cap), whose optimistic concurrency makes a
cap exact however many requests and processes spend it at once, as a cooldown does.
"""

import hashlib
from dataclasses import dataclass

from eventsourcing.domain import Aggregate, event

from domain.actions import ACTION_TYPES, canonical_action_type
from domain.errors import InvalidTrigger
from domain.ids import keyed_id
from domain.recording import creation, next_event

MAX_CAPS = 20
MAX_LIMIT = 1000  # an allowance keeps the times of its last `limit` dispatches
MAX_PERIOD_MS = 366 * 86400 * 1000


class InvalidCaps(InvalidTrigger):
    """A cap breaks a rule; `details` names it, such as [0].limit."""


@dataclass(frozen=True)
class FrequencyCap:
    limit: int
    period_ms: int
    action_types: tuple[str, ...] | None = None  # None: every action type

    @property
    def cap_id(self) -> str:
        """Changing a cap's numbers or types makes it a new cap, with fresh allowances."""
        types = ",".join(self.action_types) if self.action_types is not None else "*"
        return hashlib.sha256(f"{self.limit}/{self.period_ms}/{types}".encode()).hexdigest()[:16]

    def applies_to(self, action_type: str) -> bool:
        return self.action_types is None or action_type in self.action_types

    def as_dict(self) -> dict:
        shown = {"limit": self.limit, "periodMs": self.period_ms}
        if self.action_types is not None:
            shown["actionTypes"] = list(self.action_types)
        return shown


def validated_caps(raw) -> tuple[FrequencyCap, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_CAPS:
        raise InvalidCaps("body", f"must be a list of at most {MAX_CAPS} caps")
    caps = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict) or set(item) - {"limit", "periodMs", "actionTypes"}:
            raise InvalidCaps(f"[{n}]", "must be an object of limit, periodMs and optionally actionTypes")
        for key, top in (("limit", MAX_LIMIT), ("periodMs", MAX_PERIOD_MS)):
            value = item.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise InvalidCaps(f"[{n}].{key}", f"must be an integer from 1 to {top}")
        types = item.get("actionTypes")
        if types is not None:
            if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
                raise InvalidCaps(f"[{n}].actionTypes", f"must be a non-empty list of {', '.join(ACTION_TYPES)}")
            try:
                types = tuple(sorted({canonical_action_type(t) for t in types}))
            except InvalidTrigger:
                raise InvalidCaps(f"[{n}].actionTypes", f"must hold only {', '.join(ACTION_TYPES)}") from None
        caps.append(FrequencyCap(item["limit"], item["periodMs"], types))
    return tuple(caps)


class TenantFrequencyCaps(Aggregate):
    @staticmethod
    def create_id(tenant_id: str):
        return keyed_id(tenant_id, "frequency-caps")

    @event("Created")
    def __init__(self, tenant_id: str, caps: list, actor: str):
        self.tenant_id = tenant_id
        self.caps = caps  # as the API shows them: [{limit, periodMs, actionTypes?}]

    @event("Changed")
    def change(self, caps: list, actor: str) -> None:
        self.caps = caps


class CustomerAllowance(Aggregate):
    """The times of a customer's last `limit` dispatches under one cap."""

    @staticmethod
    def create_id(tenant_id: str, customer_id: str, cap_id: str):
        return keyed_id(tenant_id, "allowance", customer_id, cap_id)

    @staticmethod
    def allows(recent, limit: int, period_ms: int, now_ms: int) -> bool:
        """Room for one more dispatch in the rolling period that ends now."""
        return sum(1 for spent in recent if spent > now_ms - period_ms) < limit

    @event("Started")
    def __init__(self, tenant_id: str, customer_id: str, cap_id: str, spent_at_ms: int, keep: int):
        self.tenant_id = tenant_id
        self.customer_id = customer_id
        self.cap_id = cap_id
        self.recent = [spent_at_ms]

    @classmethod
    def spend_after(cls, version: int | None, tenant_id: str, customer_id: str, cap_id: str,
                    spent_at_ms: int, keep: int):
        """The event spending one dispatch after the aggregate's `version`, without building it."""
        key = cls.create_id(tenant_id, customer_id, cap_id)
        if version is None:
            return creation(cls, cls.Started, key, tenant_id=tenant_id, customer_id=customer_id, cap_id=cap_id,
                            spent_at_ms=spent_at_ms, keep=keep)
        return next_event(cls.Spent, key, version + 1, spent_at_ms=spent_at_ms, keep=keep)

    @event("Spent")
    def spend(self, spent_at_ms: int, keep: int) -> None:
        self.recent = (self.recent + [spent_at_ms])[-keep:]
