"""Request and response models of delivery: the dispatch log, resends, event and customer look-ups, stats."""

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from domain.actions import ACTION_TYPES
from domain.customer_events import OUTCOMES
from domain.dispatch import RESENDABLE, STATUSES
from interfaces.schemas import Strict

MAX_PAGE = 200
Status = Literal[STATUSES]
OutcomeName = Literal[OUTCOMES]


def epoch_ms(value: str | None) -> int | None:
    """An ISO 8601 date-time (no offset means UTC) as epoch milliseconds."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date-time, such as 2026-12-01T09:30:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


class TimeRange(Strict):
    since: str | None = Field(None, max_length=64, json_schema_extra={"format": "date-time"},
                              description="created at or after this time")
    until: str | None = Field(None, max_length=64, json_schema_extra={"format": "date-time"},
                              description="created before this time")

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        epoch_ms(value)
        return value


class DispatchQuery(TimeRange):
    status: Status | None = None
    triggerId: str | None = Field(None, max_length=64)
    eventId: str | None = Field(None, max_length=64)
    customerId: str | None = Field(None, max_length=256)
    actionType: Literal[ACTION_TYPES] | None = None
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=512, description="nextCursor of the page before")


class PageQuery(Strict):
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(None, max_length=512, description="nextCursor of the page before")


class ResendQuery(Strict):
    force: Literal["true", "false"] = Field("false", description="true: resend a delivered dispatch too")


class BulkResend(TimeRange):
    status: Literal[RESENDABLE]
    triggerId: str | None = Field(None, max_length=64)


class BulkResendResult(BaseModel):
    matched: int


class AttemptView(BaseModel):
    at: datetime
    durationMs: int
    outcome: Literal["delivered", "failed"]
    statusCode: int | None = None
    error: str | None = None
    responseBody: str | None = Field(None, description="the first 1 KiB of a webhook's answer")


class DispatchView(BaseModel):
    id: str
    triggerId: str
    triggerVersion: int
    eventId: str
    customerId: str
    actionType: str
    target: str = Field(description="the stream subject, or the webhook URL")
    status: Status
    attempts: list[AttemptView]
    lastError: str | None
    createdAt: datetime
    nextAttemptAt: datetime | None
    deliveredAt: datetime | None


class DispatchPage(BaseModel):
    data: list[DispatchView]
    nextCursor: str | None


class StreamStatus(BaseModel):
    published: bool
    sequence: int | None


class TriggerOutcomeView(BaseModel):
    triggerId: str
    triggerVersion: int
    actionType: str
    outcome: OutcomeName
    dispatchId: str | None = None
    dispatchStatus: Status | None = None


class RecordedEvent(BaseModel):
    id: str
    tenantId: str
    type: str
    customerId: str
    channel: str | None
    timestamp: str
    receivedAt: str
    data: dict[str, Any]
    triggerEventTypes: list[str]


class EventView(BaseModel):
    eventId: str
    event: RecordedEvent
    stream: StreamStatus
    triggers: list[TriggerOutcomeView]


class CustomerEventPage(BaseModel):
    data: list[EventView]
    nextCursor: str | None


class Suppressed(BaseModel):
    cooldown: int
    frequency_capped: int


class TriggerStatsView(BaseModel):
    fired: int
    suppressed: Suppressed
    delivered: int
    retrying: int
    dead: int
    lastFiredAt: datetime | None
