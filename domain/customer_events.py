"""Customer events: the five ingest types, their internal trigger types, and the recorded event."""

import re

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id
from domain.recording import creation

INGEST_TYPES = ("purchase", "cart_abandon", "page_view", "app_open", "support_call")

# A purchase is also an outcome; cart abandonment and support calls change what we know of a customer.
INTERNAL_TYPES: dict[str, tuple[str, ...]] = {
    "purchase": ("outcome.recorded",),
    "cart_abandon": ("customer.updated",),
    "support_call": ("customer.updated",),
}

TRIGGER_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


def trigger_event_types(ingest_type: str) -> tuple[str, ...]:
    """The trigger event types an ingested event is evaluated against, its own type first."""
    return (ingest_type, *INTERNAL_TYPES.get(ingest_type, ()))


class CustomerEvent(Aggregate):
    """One accepted event. Its id is keyed by tenant and event id, so a replay collides."""

    @staticmethod
    def create_id(tenant_id: str, event_id: str):
        return keyed_id(tenant_id, "event", event_id)

    @event("Recorded")
    def __init__(self, tenant_id: str, event_id: str, message: dict):
        self.tenant_id = tenant_id
        self.event_id = event_id
        self.message = message  # the stream body, exactly as published

    @classmethod
    def recorded(cls, tenant_id: str, event_id: str, message: dict) -> "CustomerEvent.Recorded":
        """The event that recording it produces, without building the aggregate."""
        return creation(cls, cls.Recorded, cls.create_id(tenant_id, event_id),
                        tenant_id=tenant_id, event_id=event_id, message=message)
