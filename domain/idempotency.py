"""Idempotency keys: a tenant's Idempotency-Key or batch messageId, the body it is bound to, its answer."""

import hashlib
import json
from dataclasses import dataclass

KEY_LIFETIME_MS = 24 * 3600 * 1000
# A first request that died unanswered holds its key no longer than its deadline plus this.
LEASE_GRACE_MS = 30_000
HEADER, MESSAGE = "key", "message"  # the Idempotency-Key header, and a batch event's messageId


def fingerprint(event: dict) -> str:
    """What binds a key to its body: the event as parsed, so spacing and key order do not matter."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass  # not frozen: made for every event with a messageId, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class KeyClaim:
    """A key taken by a request, recorded with its event: while it lives, the key stands for that event."""

    tenant_id: str
    scope: str
    key: str
    fingerprint: str
    event_id: str
    at_ms: int
    lease_until_ms: int


@dataclass(frozen=True)
class KeyRecord:
    claim: KeyClaim
    response: dict | None

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.claim.at_ms + KEY_LIFETIME_MS

    def leased(self, now_ms: int) -> bool:
        """Its first request may still answer: a repeat must wait."""
        return self.response is None and now_ms < self.claim.lease_until_ms
