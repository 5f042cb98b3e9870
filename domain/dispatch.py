"""Dispatches: the action a fired trigger owes, the attempts to deliver it, and when to try again.

A dispatch is a record, not an aggregate: its facts are the fire (kept in the event log) and its
attempts (kept with its status). Its id joins the event and the trigger, so that either side
leads to the other and a rebuilt dispatch gets the id receivers already deduplicate on.
"""

from dataclasses import dataclass

PENDING, RETRYING, DELIVERED, DEAD = "pending", "retrying", "delivered", "dead"
STATUSES = (PENDING, RETRYING, DELIVERED, DEAD)
UNSETTLED = (PENDING, RETRYING)
RESENDABLE = (RETRYING, DEAD)

# Svix's schedule: retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the first attempt (≈27 h).
DEFAULT_RETRY_SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 36000)
RESPONSE_BODY_KEPT = 1024  # bytes of a webhook's answer kept with its attempt


# Ids: evt_<event>, tr_<trigger> and dsp_<event>_<trigger>, so an event's dispatches are a key range.
EVENT_ID_PREFIX, TRIGGER_ID_PREFIX, DISPATCH_ID_PREFIX, SEPARATOR = "evt_", "tr_", "dsp_", "_"


def dispatch_id(event_id: str, trigger_id: str) -> str:
    return f"{event_prefix(event_id)}{trigger_id.removeprefix(TRIGGER_ID_PREFIX)}"


def fire_of(dispatch: str) -> tuple[str, str] | None:
    """The (event id, trigger id) a dispatch id joins, or None when it is not one of ours."""
    event, separator, trigger = dispatch.removeprefix(DISPATCH_ID_PREFIX).partition(SEPARATOR)
    if not dispatch.startswith(DISPATCH_ID_PREFIX) or not separator or not event or not trigger:
        return None
    return EVENT_ID_PREFIX + event, TRIGGER_ID_PREFIX + trigger


def event_prefix(event_id: str) -> str:
    """What every dispatch id of this event starts with."""
    return f"{DISPATCH_ID_PREFIX}{event_id.removeprefix(EVENT_ID_PREFIX)}{SEPARATOR}"


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class Attempt:
    at_ms: int
    duration_ms: int
    delivered: bool
    error: str | None = None
    status_code: int | None = None
    response_body: str | None = None
    final: bool = False  # a failure no retry can heal: the SSRF guard, a template that cannot render

    def as_dict(self) -> dict:
        entry = {"atMs": self.at_ms, "durationMs": self.duration_ms,
                 "outcome": "delivered" if self.delivered else "failed"}
        for key, value in (("statusCode", self.status_code), ("error", self.error),
                           ("responseBody", self.response_body)):
            if value is not None:
                entry[key] = value
        return entry


@dataclass  # not frozen: made for every event, where frozen costs 5× (docs/PERFORMANCE.md, "frozen")
class DispatchState:
    status: str
    next_attempt_at_ms: int | None = None
    last_error: str | None = None
    delivered_at_ms: int | None = None


def after_attempt(before: DispatchState, attempts_made: int, attempt: Attempt,
                  schedule: tuple[int, ...]) -> DispatchState:
    """Where a dispatch stands once `attempt`, its `attempts_made`-th, has settled.

    Attempts consume the schedule: after the n-th failure the next try is schedule[n-1] seconds
    later, and a failure with no retry left, or one that cannot heal, is dead. A resend of a dead
    or delivered dispatch that fails leaves it dead or delivered, with the failure recorded."""
    if attempt.delivered:
        return DispatchState(DELIVERED, None, before.last_error, attempt.at_ms)
    if attempt.final:
        return DispatchState(DEAD, None, attempt.error, before.delivered_at_ms)
    if before.status in (DEAD, DELIVERED):
        return DispatchState(before.status, None, attempt.error, before.delivered_at_ms)
    if attempts_made <= len(schedule):
        return DispatchState(RETRYING, attempt.at_ms + int(schedule[attempts_made - 1] * 1000), attempt.error)
    return DispatchState(DEAD, None, f"{attempt.error} (no retry left after {attempts_made} attempts)")


def parse_schedule(text: str) -> tuple[int, ...]:
    """TRIPCORD_RETRY_SCHEDULE: seconds, comma-separated; N values are N retries after the first attempt."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    try:
        seconds = tuple(float(part) for part in parts)
    except ValueError:
        raise ValueError(f"the retry schedule must be seconds separated by commas, got {text!r}") from None
    if any(s < 0 or s != s or s > 10 * 365 * 86400 for s in seconds):
        raise ValueError("each retry delay must be from 0 to ten years in seconds")
    return tuple(s if s % 1 else int(s) for s in seconds)
