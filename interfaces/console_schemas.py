"""Request and response models of the console's live stream: its ticket and its query."""

from typing import Literal

from pydantic import BaseModel, Field

from domain.customer_events import INGEST_TYPES
from interfaces.schemas import Strict


class StreamTicket(BaseModel):
    ticket: str = Field(description="Opens one live stream; pass it as ?ticket= to /api/v1/events/live")
    expiresAt: int = Field(description="Unix time after which the ticket opens nothing")


class LiveQuery(Strict):
    ticket: str = Field(max_length=512, description="From POST /api/v1/stream-tickets; used once")
    type: Literal[("*", *INGEST_TYPES)] = Field("*", description="Only events of this type")
    customerId: str | None = Field(None, max_length=256, description="Only this customer's events")
