"""CustomerCooldown: when a trigger last fired for one customer, and whether it may fire again.

One aggregate per (tenant, trigger, customer). Its optimistic concurrency is the guarantee:
two processes that both see the window open race to record the next version, and only one wins.
"""

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id
from domain.recording import creation, next_event


class CustomerCooldown(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, trigger_id: str, customer_id: str):
        return keyed_id(tenant_id, "cooldown", trigger_id, customer_id)

    @staticmethod
    def window_open(last_fired_at_ms: int | None, cooldown_ms: int, now_ms: int) -> bool:
        """A trigger fires again for a customer once `cooldown_ms` have passed since its last fire."""
        return last_fired_at_ms is None or now_ms >= last_fired_at_ms + cooldown_ms

    @event("Started")
    def __init__(self, tenant_id: str, trigger_id: str, customer_id: str, fired_at_ms: int, event_id: str):
        self.tenant_id = tenant_id
        self.trigger_id = trigger_id
        self.customer_id = customer_id
        self.fired_at_ms = fired_at_ms
        self.event_id = event_id

    @classmethod
    def fire_after(cls, version: int | None, tenant_id: str, trigger_id: str, customer_id: str,
                   fired_at_ms: int, event_id: str):
        """The event a fire records after the aggregate's `version` (None: it has none yet),
        without building the aggregate."""
        key = cls.create_id(tenant_id, trigger_id, customer_id)
        if version is None:
            return creation(cls, cls.Started, key, tenant_id=tenant_id, trigger_id=trigger_id,
                            customer_id=customer_id, fired_at_ms=fired_at_ms, event_id=event_id)
        return next_event(cls.Fired, key, version + 1, fired_at_ms=fired_at_ms, event_id=event_id)

    @event("Fired")
    def fire(self, fired_at_ms: int, event_id: str) -> None:
        self.fired_at_ms = fired_at_ms
        self.event_id = event_id
