"""How much of each frequency cap each customer has used, as far as this process knows (see application.cache)."""

from application.cache import VersionCache
from domain.frequency_caps import CustomerAllowance, FrequencyCap

Key = tuple[str, str, str]  # (tenant, customer, cap id)


class Allowances(VersionCache):
    """Entries are (version, times of the customer's last dispatches under the cap)."""

    @staticmethod
    def aggregate_id(key: Key):
        return CustomerAllowance.create_id(*key)

    def allows(self, key: Key, cap: FrequencyCap, now_ms: int) -> bool:
        known = self._known.get(key)
        return known is None or CustomerAllowance.allows(known[1], cap.limit, cap.period_ms, now_ms)

    def spend(self, key: Key, cap: FrequencyCap, now_ms: int):
        """The event that spends one dispatch; held before it is saved, like a cooldown's fire."""
        known = self._known.get(key)
        spent = CustomerAllowance.spend_after(known and known[0], *key, now_ms, cap.limit)
        self._remember(key, (spent.originator_version, ((known[1] if known else ()) + (now_ms,))[-cap.limit:]))
        return spent

    def learn(self, key: Key, head: list) -> None:
        """What the store holds: the aggregate's last `limit` events, each carrying one spend."""
        if not head:
            self.forget(key)
        else:
            keep = head[-1].keep
            self._remember(key, (head[-1].originator_version, tuple(e.spent_at_ms for e in head)[-keep:]))
