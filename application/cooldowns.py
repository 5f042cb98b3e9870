"""What this process knows of CustomerCooldown aggregates, so a fire needs no read.

The event store stays the judge: a fire is saved as the aggregate's next version, and a clash
(another request or process fired first) sends the caller back to reload and decide again.
Cached state can only lag behind the store, never run ahead of it, so "cooling down" is safe.
"""

from collections import OrderedDict

from domain.cooldown import CustomerCooldown


class Cooldowns:
    def __init__(self, capacity: int = 50_000):  # about 800 bytes each: ~40 MiB per worker when full
        self.capacity = capacity
        self._known: OrderedDict = OrderedDict()

    def try_fire(self, tenant_id: str, trigger_id: str, customer_id: str, cooldown_ms: int,
                 now_ms: int, event_id: str) -> CustomerCooldown | None:
        """The cooldown with a new fire pending, or None while the window is closed."""
        key = CustomerCooldown.create_id(tenant_id, trigger_id, customer_id)
        cooldown = self._known.get(key)
        if cooldown is None:
            cooldown = CustomerCooldown(tenant_id, trigger_id, customer_id, now_ms, event_id)
        elif cooldown.cooling_down(now_ms, cooldown_ms):
            self._known.move_to_end(key)
            return None
        else:
            cooldown.fire(now_ms, event_id)
        # Held before it is saved: concurrent requests in this process see the window closed.
        self._remember(key, cooldown)
        return cooldown

    def forget(self, key) -> None:
        self._known.pop(key, None)

    def learn(self, key, cooldown: CustomerCooldown | None) -> None:
        if cooldown is None:
            self.forget(key)
        else:
            self._remember(key, cooldown)

    def _remember(self, key, cooldown: CustomerCooldown) -> None:
        self._known[key] = cooldown
        self._known.move_to_end(key)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)
