"""What the application needs from the outside world, in its own words."""

from dataclasses import dataclass, field
from typing import Protocol, Sequence


@dataclass(frozen=True)
class OutboxMessage:
    """A delivery owed: an event for the stream, or a dispatch for NATS or a webhook."""

    id: str  # the event id or dispatch id: Nats-Msg-Id / webhook-id
    kind: str  # "event" | "action" | "webhook"
    tenant_id: str
    subject: str  # stream subject, or the webhook URL
    body: dict
    due_at_ms: int  # when the relay may take it, should the request path not deliver it
    target: dict | None = None  # webhook method, headers and secret
    attempts: int = 0


@dataclass
class UnitOfWork:
    """Writes that must commit together: domain events, outbox additions and removals."""

    events: list = field(default_factory=list)
    outbox_added: list[OutboxMessage] = field(default_factory=list)
    outbox_done: list[str] = field(default_factory=list)


class Storage(Protocol):
    def record(self, units: Sequence[UnitOfWork]) -> Sequence[int]:
        """Commit the units in one transaction. Returns the indices of units refused for a version
        clash, the others committed; a store that cannot tell which unit clashed raises
        IntegrityError and commits none."""

    def listing_page(self, tenant_id: str, status: str | None, event_type: str | None,
                     limit: int, offset: int) -> tuple[list[dict], int]: ...

    def listing_changes(self, after_position: int) -> tuple[list[dict], int]:
        """Listing rows changed after a projection position, and the current position."""

    def listing_position(self) -> int: ...

    def replay_listing(self) -> int:
        """Rebuild the listing from the event log; returns the number of events applied."""

    def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxMessage]: ...

    def reschedule(self, message_id: str, due_at_ms: int, attempts: int) -> None: ...

    def outbox_stats(self, now_ms: int) -> tuple[int, int]:
        """How many messages wait, and the age in ms of the oldest due one."""

    def ping(self) -> None: ...


class Stream(Protocol):
    async def publish(self, subject: str, message_id: str, body: bytes) -> int:
        """Publish and wait for JetStream's acknowledgement; returns the stream sequence.
        It may wait for ever: the caller bounds the wait."""


class Webhooks(Protocol):
    async def deliver(self, message: OutboxMessage, timeout: float) -> None:
        """Send the signed request; raises on any failure."""


class Observer(Protocol):
    """Where the application reports what happened, for metrics."""

    def ingested(self, event_type: str, seconds: float) -> None: ...

    def fired(self, tenant_id: str, trigger_id: str) -> None: ...

    def dispatched(self, action_type: str, outcome: str) -> None: ...

    def published(self, outcome: str) -> None: ...


class Commit(Protocol):
    async def __call__(self, unit: UnitOfWork) -> None:
        """Commit one unit of work (possibly together with others); raises IntegrityError on a clash."""

    def later(self, unit: UnitOfWork) -> None:
        """Queue a unit for a coming transaction without waiting for it. For writes whose loss the
        outbox covers: a unit that fails is dropped, and the relay settles what it would have."""

    async def drain(self) -> None:
        """Wait until every queued unit has been tried (at shutdown)."""


class Blocking(Protocol):
    async def __call__(self, fn, *args): ...
