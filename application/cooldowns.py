"""When each trigger last fired for each customer, as far as this process knows (see application.cache)."""

from application.cache import VersionCache
from domain.cooldown import CustomerCooldown

Key = tuple[str, str, str]  # (tenant, trigger, customer)


class Cooldowns(VersionCache):
    """Entries are (version, last fire): about 340 bytes each, ~33 MiB per worker when full."""

    @staticmethod
    def aggregate_id(key: Key):
        return CustomerCooldown.create_id(*key)

    def window_open(self, key: Key, cooldown_ms: int, now_ms: int) -> bool:
        known = self._known.get(key)
        return CustomerCooldown.window_open(known and known[1], cooldown_ms, now_ms)

    def fire(self, key: Key, now_ms: int, event_id: str):
        """The event that records a fire. Held before it is saved, so that concurrent requests in
        this process see the window closed; forget() it should the save fail."""
        known = self._known.get(key)
        fire = CustomerCooldown.fire_after(known and known[0], *key, now_ms, event_id)
        self._remember(key, (fire.originator_version, now_ms))
        return fire

    DEPTH = 1  # events to learn from: the last one says when it last fired

    def learn(self, key: Key, head: list) -> None:
        """What the store holds: the aggregate's last DEPTH events (none: it never fired)."""
        if not head:
            self.forget(key)
        else:
            self._remember(key, (head[-1].originator_version, head[-1].fired_at_ms))
