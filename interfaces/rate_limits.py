"""An optional per-tenant ingest rate: a token bucket per tenant, in each process.

Each process refills its own buckets, so N processes admit up to N times the rate; set it per
process. Buckets of tenants idle for a minute are dropped, so their number stays bounded.
"""

import math
import time

from aiohttp import web

IDLE_S = 60.0


class TenantRates:
    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant → (tokens, when counted)
        self._swept = time.monotonic()

    def take(self, tenant_id: str, events: int = 1) -> float:
        """Takes `events` tokens; returns 0 when they were there, else the seconds until they will be."""
        now = time.monotonic()
        tokens, then = self._buckets.get(tenant_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if events > tokens:
            self._buckets[tenant_id] = (tokens, now)
            return (min(events, self.burst) - tokens) / self.rate
        self._buckets[tenant_id] = (tokens - events, now)
        if now - self._swept > IDLE_S:
            self._sweep(now)
        return 0.0

    def _sweep(self, now: float) -> None:
        self._swept = now
        self._buckets = {t: b for t, b in self._buckets.items() if now - b[1] < IDLE_S}


def admit(rates: TenantRates | None, tenant_id: str, events: int = 1) -> None:
    """Raises 429 with Retry-After when the tenant is over its rate."""
    if rates is None:
        return
    wait_s = rates.take(tenant_id, events)
    if wait_s:
        raise web.HTTPTooManyRequests(text=f"the tenant's ingest rate ({rates.rate:g} events/s) is exhausted",
                                      headers={"Retry-After": str(max(1, math.ceil(wait_s)))})
