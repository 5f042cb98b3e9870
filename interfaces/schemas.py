"""Request and response models: they validate requests and generate the OpenAPI document."""

from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.actions import ACTION_ALIASES, ACTION_TYPES
from domain.customer_events import INGEST_TYPES, TRIGGER_EVENT_TYPE
from domain.trigger import DESCRIPTION_MAX, EVENT_TYPE_MAX, MAX_INT, NAME_MAX

# The domain checks a rule's fields; the models declare the same limits, taken from it, so that
# requests fail early with field details and the OpenAPI document shows them.
EVENT_TYPE_PATTERN = TRIGGER_EVENT_TYPE.pattern
CUSTOMER_ID = r"^[^\x00-\x1f\x7f]+$"  # any text but control characters (PostgreSQL text cannot hold NUL)
ActionTypeName = Literal[(*ACTION_TYPES, *ACTION_ALIASES)]
IngestType = Literal[INGEST_TYPES]


def iso(moment: datetime) -> str:
    """How every time leaves the API: UTC, milliseconds, a Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class TriggerCreate(Strict):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    description: str = Field("", max_length=DESCRIPTION_MAX)
    eventType: str = Field(pattern=EVENT_TYPE_PATTERN, max_length=EVENT_TYPE_MAX)
    actionType: ActionTypeName
    actionConfig: dict[str, Any] = Field(default_factory=dict)
    condition: dict[str, Any] | None = None
    priority: int = Field(50, ge=-MAX_INT, le=MAX_INT)
    cooldownMs: int = Field(0, ge=0, le=MAX_INT)
    status: Literal["active", "paused"] = "active"
    ignoreFrequencyCaps: bool = Field(False, description="transactional messages: exempt from frequency caps")


class TriggerUpdate(Strict):
    """Only the fields given change. `version`, when given, must be the trigger's current version."""

    name: str = Field(None, min_length=1, max_length=NAME_MAX)
    description: str = Field(None, max_length=DESCRIPTION_MAX)
    eventType: str = Field(None, pattern=EVENT_TYPE_PATTERN, max_length=EVENT_TYPE_MAX)
    actionType: ActionTypeName = None
    actionConfig: dict[str, Any] = None
    condition: dict[str, Any] | None = None
    priority: int = Field(None, ge=-MAX_INT, le=MAX_INT)
    cooldownMs: int = Field(None, ge=0, le=MAX_INT)
    status: Literal["active", "paused"] = None
    ignoreFrequencyCaps: bool = None
    version: int = Field(None, ge=1)


class TriggerTest(Strict):
    eventPayload: dict[str, Any] = Field(description="Sample event data, as the event's `data` object")
    type: str = Field("", description="Event type for `$type` and the event-type check (optional)")
    customerId: str = Field("", max_length=256)
    channel: str = Field("", max_length=256)
    timestamp: str = Field("", max_length=64)


class TriggerListQuery(Strict):
    status: Literal["active", "paused"] | None = None
    eventType: str | None = Field(None, pattern=EVENT_TYPE_PATTERN, max_length=EVENT_TYPE_MAX)
    limit: int = Field(50, ge=1, le=MAX_INT, description="page size; above 200 means 200")
    offset: int = Field(0, ge=0, le=MAX_INT)


class VersionQuery(Strict):
    version: int | None = Field(None, ge=1, le=MAX_INT)


class TriggerView(BaseModel):
    id: str
    name: str
    description: str
    eventType: str
    actionType: str
    actionConfig: dict[str, Any]
    condition: dict[str, Any] | None
    priority: int
    cooldownMs: int
    status: Literal["active", "paused"]
    ignoreFrequencyCaps: bool
    createdAt: datetime
    updatedAt: datetime
    version: int


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    hasMore: bool


class TriggerPage(BaseModel):
    data: list[TriggerView]
    pagination: Pagination


class TraceEntry(BaseModel):
    path: str
    field: str
    operator: str
    expected: Any
    actual: Any
    found: bool
    matched: bool
    reason: str


class TestResult(BaseModel):
    wouldFire: bool
    reason: str
    trace: list[TraceEntry]
    renderedConfig: dict[str, Any] | None = Field(description="the actionConfig this event would send, "
                                                              "templates rendered; null when it does not render")
    renderError: str | None = None
    heldBy: Literal["cooldown", "frequency_capped"] | None = Field(
        None, description="what would hold the trigger back for the sample's customerId")


class AuditEntry(BaseModel):
    version: int
    change: Literal["created", "updated", "paused", "activated", "deleted"]
    at: datetime
    actor: str
    fields: dict[str, Any]


class History(BaseModel):
    data: list[AuditEntry]


class IngestRequest(Strict):
    type: IngestType
    customerId: str = Field(min_length=1, max_length=256, pattern=CUSTOMER_ID)
    data: dict[str, Any] = Field(default_factory=dict)
    channel: str | None = Field(None, max_length=256)
    timestamp: str | None = Field(None, max_length=64, json_schema_extra={"format": "date-time"},
                                  description="ISO 8601; defaults to the server's time")

    @field_validator("timestamp")
    @classmethod
    def iso_8601(cls, value: str | None) -> str | None:
        """Normalised to UTC with milliseconds; a time without an offset is taken as UTC."""
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            moment = moment.astimezone(timezone.utc)  # overflows for year 1 or 9999 near the edge
        except (ValueError, OverflowError):
            raise ValueError("must be an ISO 8601 date-time, such as 2026-02-20T10:00:00Z") from None
        return iso(moment)


class BatchEvent(IngestRequest):
    messageId: str | None = Field(None, pattern=r"^[\x21-\x7e]{1,255}$",
                                  description="deduplicates the event for 24 h per tenant, as an Idempotency-Key")


class BatchRequest(Strict):
    # Each event is checked on its own (a bad one fails only itself), so the model takes any objects.
    events: list[dict[str, Any]] = Field(min_length=1, max_length=500, description="1 to 500 events",
                                         json_schema_extra={"items": {"$ref": "#/components/schemas/BatchEvent"}})


# The ingest answer is serialised from application.ingest_results.IngestResult by these models,
# each field read from the attribute its validation alias names: the API's names live only here.
class FromResult(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TriggerMatch(FromResult):
    triggerId: str = Field(validation_alias="trigger_id")
    actionType: str = Field(validation_alias="action_type")


class ActionDispatched(TriggerMatch):
    dispatchId: str = Field(validation_alias="dispatch_id")
    config: dict[str, Any]


class ActionError(TriggerMatch):
    dispatchId: str = Field(validation_alias="dispatch_id")
    error: str


class IngestResponse(FromResult):
    ingested: bool = True
    eventId: str = Field(validation_alias="event_id")
    eventType: str = Field(validation_alias="event_type")
    customerId: str = Field(validation_alias="customer_id")
    streamId: str | None = Field(validation_alias="stream_id")
    streamSequence: int | None = Field(validation_alias="stream_sequence")
    triggersMatched: list[TriggerMatch] = Field(validation_alias="matched")
    actionsDispatched: list[ActionDispatched] = Field(validation_alias="dispatched")
    actionErrors: list[ActionError] | None = Field(None, validation_alias="failed",
                                                   description="present only when a dispatch failed")

    @classmethod
    def of(cls, result) -> "IngestResponse":
        return cls.model_validate(result)

    def json_bytes(self) -> bytes:
        return self.__pydantic_serializer__.to_json(self, exclude=None if self.actionErrors else NO_ERRORS)


NO_ERRORS = {"actionErrors"}


class ErrorDetail(BaseModel):
    path: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class BatchResponse(BaseModel):
    ingested: int
    failed: int
    results: list[IngestResponse | ErrorResponse] = Field(description="one per event, in order")


FIELD_NAMES = {"name": "name", "description": "description", "eventType": "event_type",
               "actionType": "action_type", "actionConfig": "action_config", "condition": "condition",
               "priority": "priority", "cooldownMs": "cooldown_ms", "status": "status",
               "ignoreFrequencyCaps": "ignore_frequency_caps"}
PUBLIC_NAMES = {v: k for k, v in FIELD_NAMES.items()}
