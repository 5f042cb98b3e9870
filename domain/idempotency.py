"""IdempotentRequest: an Idempotency-Key a tenant used, and the answer it got."""

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id

KEY_LIFETIME_MS = 24 * 3600 * 1000


class IdempotentRequest(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, key: str):
        return keyed_id(tenant_id, "idempotency", key)

    @event("Received")
    def __init__(self, tenant_id: str, key: str, event_id: str, received_at_ms: int):
        self.tenant_id = tenant_id
        self.key = key
        self._take(event_id, received_at_ms)

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.received_at_ms + KEY_LIFETIME_MS

    @event("Reused")
    def reuse(self, event_id: str, received_at_ms: int) -> None:
        """The key came back after its lifetime: it now stands for a new event."""
        self._take(event_id, received_at_ms)

    @event("Answered")
    def answer(self, response: dict) -> None:
        self.response = response

    def _take(self, event_id: str, received_at_ms: int) -> None:
        self.event_id = event_id
        self.received_at_ms = received_at_ms
        self.response = None
