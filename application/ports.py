"""What the application needs from the outside world, in its own words: what storage, the stream
and webhooks must do (the records they take and give are in application.records).
Storage methods block (they run on the database threads, bound once as `Blocking`).
"""

from dataclasses import dataclass
from typing import Protocol, Sequence

from application.records import (DispatchFilter, DispatchRecord, EventEntry, StreamAck, TriggerStats, UnitOfWork,
                                 Unsettled)
from domain.dispatch import Attempt, DispatchState
from domain.idempotency import KeyRecord


class Recorder(Protocol):
    async def __call__(self, units: Sequence[UnitOfWork]) -> Sequence[int]:
        """Commit the units in one transaction; returns the indices of units refused for a clash (an
        aggregate version or a live key already recorded). A store that cannot tell which unit
        clashed raises eventsourcing's IntegrityError and commits none."""


class Commit(Protocol):
    async def __call__(self, unit: UnitOfWork) -> None:
        """Commit one unit (possibly with others); raises IntegrityError when it is refused."""

    def later(self, unit: UnitOfWork) -> None:
        """Queue a unit without waiting for it: for writes whose loss the relay repairs."""

    async def many(self, units: list[UnitOfWork]) -> list[BaseException | None]:
        """Commit units (possibly together); the error each one failed with, or None."""

    async def drain(self) -> None: ...


class EventLog(Protocol):
    def find(self, tenant_id: str, event_id: str) -> EventEntry | None: ...

    def of_customer(self, tenant_id: str, customer_id: str, before: int | None, limit: int) -> list[EventEntry]:
        """A customer's events, newest first, from before log position `before`."""

    def tail(self, after: int, limit: int) -> list[EventEntry]:
        """Every tenant's events after log position `after`, in log order."""

    def unsettled(self, after: int, limit: int) -> Unsettled:
        """Of the next `limit` events after log position `after` or the checkpoint, whichever is
        later, those that may not be settled."""

    def bodies(self, event_ids: Sequence[str]) -> dict[str, dict]:
        """The body of each of these events the log holds."""

    def advance(self, position: int) -> None:
        """Moves the checkpoint (the position up to which every event is streamed and every fire has
        its dispatch record) to `position`, unless it is past it already."""

    def backlog(self, now_ms: int) -> tuple[int, int]:
        """How many events are past the checkpoint, and the age in ms of the oldest of them."""

    def acknowledge(self, acks: Sequence[StreamAck]) -> None: ...

    def purge(self, received_before_ms: int, limit: int) -> int:
        """Delete settled events received before a time, with their dispatches; returns how many."""


class DispatchLog(Protocol):
    def get(self, tenant_id: str, dispatch_id: str) -> DispatchRecord | None: ...

    def page(self, tenant_id: str, where: DispatchFilter, after: tuple | None, limit: int) -> list[DispatchRecord]:
        """Newest first; `after` is the (created_at_ms, id) of the last row of the page before."""

    def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """The status of each of these dispatches that has a record."""

    def recover(self, records: Sequence[DispatchRecord]) -> None:
        """Record dispatches whose first attempt left no trace, unless a record exists meanwhile."""

    def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[DispatchRecord]: ...

    def claim(self, tenant_id: str, dispatch_id: str, statuses: Sequence[str], now_ms: int,
              lease_ms: int) -> DispatchRecord | None:
        """Take one dispatch for a resend, if it has one of `statuses` and nobody is delivering it."""

    def settle(self, record: DispatchRecord, attempt: Attempt, state: DispatchState) -> bool:
        """Record an attempt made under `record.claim`; False when the claim was lost meanwhile."""

    def resend(self, tenant_id: str, status: str, trigger_id: str | None, since_ms: int | None,
               until_ms: int | None, now_ms: int, dispatch_id: str | None = None) -> int:
        """Make every matching dispatch due now, for the relays; returns how many."""

    def stats(self, tenant_id: str, trigger_ids: Sequence[str]) -> dict[str, TriggerStats]: ...


class Idempotency(Protocol):
    def find(self, tenant_id: str, scope: str, key: str) -> KeyRecord | None: ...

    def purge(self, created_before_ms: int) -> int: ...


class TriggerListing(Protocol):
    def listing_page(self, tenant_id: str, status: str | None, event_type: str | None,
                     limit: int, offset: int) -> tuple[list[dict], int]: ...

    def listing_changes(self, after_position: int) -> tuple[list[dict], int]:
        """Listing rows changed after a projection position, and the current position."""

    def listing_position(self) -> int: ...

    def active_count(self, tenant_id: str) -> int: ...


class Stream(Protocol):
    async def publish(self, subject: str, message_id: str, body: bytes) -> int:
        """Publish and wait for JetStream's acknowledgement; returns the stream sequence.
        It may wait for ever: the caller bounds the wait."""

    async def publish_many(self, messages: list[tuple[str, str, bytes]], timeout: float) -> list[int | Exception]:
        """Publish (subject, message id, body) messages together; for each, the sequence JetStream
        acknowledged within `timeout`, else why not (TimeoutError when no answer came in time)."""


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class Delivery:
    """What one dispatch sends, rendered: a stream message or a webhook request."""

    dispatch_id: str
    action_type: str
    target: str  # the stream subject or the webhook URL
    body: bytes
    config: dict  # the rendered config as users may see it (no secret, header values masked)
    method: str = "POST"
    headers: dict | None = None
    secret: str | None = None

    @property
    def is_webhook(self) -> bool:
        return self.action_type == "webhook"


@dataclass(frozen=True)
class Reply:
    status: int
    body: str  # its first bytes, decoded leniently


class WebhookRefused(Exception):
    """The target may never be reached (the SSRF guard): no retry can heal it."""


class Webhooks(Protocol):
    async def send(self, delivery: Delivery, timeout: float) -> Reply:
        """Send the signed request once; raises WebhookRefused, or another error when it could not be sent."""


class Observer(Protocol):
    """Where the application reports what happened, for metrics. No tenant, trigger or customer ids."""

    def ingested(self, event_type: str, seconds: float) -> None: ...

    def fired(self, action_type: str) -> None: ...

    def suppressed(self, reason: str) -> None: ...

    def dispatched(self, action_type: str, outcome: str) -> None: ...

    def published(self, outcome: str) -> None: ...


class Blocking(Protocol):
    async def __call__(self, fn, *args): ...


class AggregateHeads(Protocol):
    def latest(self, wanted: dict) -> dict:
        """aggregate id → how many of its last events; answers aggregate id → those domain events,
        oldest first. An aggregate with no event is absent. One read, whatever the history's length."""


class InvalidTemplate(ValueError):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class RenderFailed(Exception):
    """A template that parsed could not render for this event (a resource limit, a filter's error)."""


class CompiledConfig(Protocol):
    def render(self, context: dict) -> dict:
        """The config with every template rendered; raises RenderFailed."""


class Templates(Protocol):
    def compile(self, config: dict) -> CompiledConfig:
        """Parse every template in an actionConfig once; raises InvalidTemplate naming its path."""


class DataRejected(Exception):
    """An event's data breaks its type's schema; `details` name each failing path."""

    def __init__(self, details: list[dict]):
        super().__init__(details[0]["message"] if details else "the data breaks its schema")
        self.details = details


class CompiledSchema(Protocol):
    def problems(self, data: dict) -> list[dict]:
        """[{path, message}] for each way `data` breaks the schema; empty when it fits."""


class SchemaCompiler(Protocol):
    def compile(self, schema: dict) -> CompiledSchema:
        """Checks and compiles a JSON Schema once; raises domain.event_schemas.InvalidSchema."""
