"""CustomerCooldown: when a trigger last fired for one customer.

One aggregate per (tenant, trigger, customer). Its optimistic concurrency is the guarantee:
two processes that both see the window open race to record the next version, and only one wins.
"""

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id


class CustomerCooldown(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, trigger_id: str, customer_id: str):
        return keyed_id(tenant_id, "cooldown", trigger_id, customer_id)

    @event("Started")
    def __init__(self, tenant_id: str, trigger_id: str, customer_id: str, fired_at_ms: int, event_id: str):
        self.tenant_id = tenant_id
        self.trigger_id = trigger_id
        self.customer_id = customer_id
        self.fired_at_ms = fired_at_ms
        self.event_id = event_id

    def cooling_down(self, now_ms: int, cooldown_ms: int) -> bool:
        return now_ms < self.fired_at_ms + cooldown_ms

    @event("Fired")
    def fire(self, fired_at_ms: int, event_id: str) -> None:
        self.fired_at_ms = fired_at_ms
        self.event_id = event_id
