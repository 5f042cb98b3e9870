"""What this process knows of CustomerCooldown aggregates, so a fire needs no read.

The event store stays the judge: a fire is saved as the aggregate's next version, and a clash
(another request or process fired first) sends the caller back to reload and decide again.
Cached state can only lag behind the store, never run ahead of it, so "cooling down" is safe.
Each entry is just (version, last fire): the aggregate itself is built only when reloaded.
"""

from collections import OrderedDict

from domain.cooldown import CustomerCooldown

Key = tuple[str, str, str]  # (tenant, trigger, customer)


class Cooldowns:
    def __init__(self, capacity: int = 100_000):  # about 340 bytes each: ~33 MiB per worker when full
        self.capacity = capacity
        self._known: OrderedDict[Key, tuple[int, int]] = OrderedDict()

    def try_fire(self, tenant_id: str, trigger_id: str, customer_id: str, cooldown_ms: int,
                 now_ms: int, event_id: str):
        """The event that records a new fire, or None while the window is closed."""
        key = (tenant_id, trigger_id, customer_id)
        known = self._known.get(key)
        if known is not None and now_ms < known[1] + cooldown_ms:
            self._known.move_to_end(key)
            return None
        fire = CustomerCooldown.fire_after(known and known[0], tenant_id, trigger_id, customer_id, now_ms, event_id)
        # Held before it is saved: concurrent requests in this process see the window closed.
        self._remember(key, (fire.originator_version, now_ms))
        return fire

    def forget(self, key: Key) -> None:
        self._known.pop(key, None)

    def learn(self, key: Key, cooldown: CustomerCooldown | None) -> None:
        if cooldown is None:
            self.forget(key)
        else:
            self._remember(key, (cooldown.version, cooldown.fired_at_ms))

    def _remember(self, key: Key, known: tuple[int, int]) -> None:
        self._known[key] = known
        self._known.move_to_end(key)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)
