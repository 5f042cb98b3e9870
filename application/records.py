"""What the application records and reads back: plain data, the same on every storage.

The event log's entries, dispatch records and what a unit of work commits; application.ports says
what storage must do with them.
"""

from dataclasses import dataclass, field

from domain.customer_events import PAUSED
from domain.dispatch import DispatchState
from domain.idempotency import KeyClaim


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class TriggerOutcome:
    """What one matching trigger did with an event: fired, cooldown or frequency_capped."""

    trigger_id: str
    trigger_version: int
    action_type: str
    outcome: str


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class LoggedEvent:
    """An accepted event as the append-only event log keeps it, with what its triggers did."""

    tenant_id: str
    event_id: str
    customer_id: str
    type: str
    received_at_ms: int
    body: dict  # the stream message, exactly as published
    outcomes: tuple[TriggerOutcome, ...] = ()

    def decided(self) -> list[TriggerOutcome]:
        """The outcomes the trigger counters count: a paused trigger only leaves a trace."""
        return [outcome for outcome in self.outcomes if outcome.outcome != PAUSED]


@dataclass(frozen=True)
class EventEntry:
    """An event log row read back: its place in the log and whether the stream acknowledged it."""

    position: int
    event: LoggedEvent
    stream_sequence: int | None


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class DispatchRecord:
    id: str
    tenant_id: str
    trigger_id: str
    trigger_version: int
    event_id: str
    customer_id: str
    action_type: str
    target: str  # the stream subject or the webhook URL
    state: DispatchState
    attempts: tuple[dict, ...] = ()
    created_at_ms: int = 0
    claim: str | None = None  # the lease token of whoever is delivering it now


@dataclass(frozen=True)
class Unsettled:
    """What the relay looks at in one go: of a stretch of the event log, every event not streamed or
    with a fire that has no dispatch record (an implementation may add settled ones: the relay
    checks each), in log order and without bodies (None); the position the stretch began after (the
    checkpoint, or a later position asked for), and the stretch's last position and size. A stretch
    that looked at nothing knows no position but the one asked for: it is both `after` and `through`."""

    entries: list[EventEntry]
    after: int
    through: int
    looked_at: int


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class StreamAck:
    event_id: str
    sequence: int


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class KeyAnswer:
    tenant_id: str
    scope: str
    key: str
    response: dict


@dataclass
class UnitOfWork:
    """Writes that commit together or not at all."""

    events: list = field(default_factory=list)  # aggregate events: cooldowns, allowances, rules
    logged: list[LoggedEvent] = field(default_factory=list)
    claims: list[KeyClaim] = field(default_factory=list)
    acks: list[StreamAck] = field(default_factory=list)
    dispatches: list[DispatchRecord] = field(default_factory=list)  # first attempts settled
    answers: list[KeyAnswer] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.logged or self.claims or self.acks or self.dispatches or self.answers)


@dataclass(frozen=True)
class DispatchFilter:
    status: str | None = None
    trigger_id: str | None = None
    event_id: str | None = None
    customer_id: str | None = None
    action_type: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True)
class TriggerStats:
    fired: int = 0
    cooldown: int = 0
    frequency_capped: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    last_fired_at_ms: int | None = None
