"""Request and response models of a tenant's settings: event schemas and frequency caps."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, RootModel

from domain.frequency_caps import MAX_CAPS, MAX_LIMIT, MAX_PERIOD_MS
from interfaces.schemas import ActionTypeName, Strict


class FrequencyCap(Strict):
    limit: int = Field(ge=1, le=MAX_LIMIT, description="dispatches a customer may get in the period")
    periodMs: int = Field(ge=1, le=MAX_PERIOD_MS, description="the rolling period")
    actionTypes: list[ActionTypeName] | None = Field(None, min_length=1,
                                                      description="the action types it counts; all when absent")


class FrequencyCaps(RootModel[list[FrequencyCap]]):
    root: list[FrequencyCap] = Field(max_length=MAX_CAPS)


class EventSchemaView(BaseModel):
    eventType: str
    schema_: dict[str, Any] = Field(alias="schema", description="the JSON Schema (2020-12) of the type's data")
    version: int
    updatedAt: datetime


class EventSchemaList(BaseModel):
    data: list[EventSchemaView]


class SettingsChange(BaseModel):
    version: int
    change: Literal["created", "changed", "defined", "replaced", "removed"]
    at: datetime
    actor: str
    fields: dict[str, Any]


class SettingsHistory(BaseModel):
    data: list[SettingsChange]


class JsonSchemaDocument(RootModel[dict[str, Any]]):
    """A JSON Schema, draft 2020-12: the request body is the schema itself."""
