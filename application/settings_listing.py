"""The tenant settings projection: how each schema or caps event changes a settings row."""

from domain.event_schemas import EventSchema
from domain.frequency_caps import TenantFrequencyCaps

FREQUENCY_CAPS, EVENT_SCHEMA = "frequency_caps", "event_schema"
SETTINGS_EVENTS = (EventSchema.Defined, EventSchema.Replaced, EventSchema.Removed,
                   TenantFrequencyCaps.Created, TenantFrequencyCaps.Changed)
SETTINGS_TOPICS = tuple(f"{cls.__module__}:{cls.__qualname__}" for cls in SETTINGS_EVENTS)


def project(row: dict | None, event, position: int) -> dict:
    """The settings row after `event`; `row` is the row before it (None before the first)."""
    if isinstance(event, (TenantFrequencyCaps.Created, TenantFrequencyCaps.Changed)):
        kind, name, document = FREQUENCY_CAPS, "", event.caps
    elif isinstance(event, EventSchema.Removed):
        kind, name, document = EVENT_SCHEMA, row["name"], None
    else:
        kind, name, document = EVENT_SCHEMA, (row or {}).get("name") or event.event_type, event.schema
    tenant_id = (row or {}).get("tenant_id") or event.tenant_id
    return {"tenant_id": tenant_id, "kind": kind, "name": name, "document": document,
            "version": event.originator_version, "updated_at": event.timestamp, "position": position}
