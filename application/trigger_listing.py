"""The trigger listing projection: how each Trigger event changes a listing row."""

from domain.trigger import Trigger

TRIGGER_TOPICS = tuple(
    f"{Trigger.__module__}:{Trigger.__qualname__}.{name}"
    for name in ("Created", "Updated", "Paused", "Activated", "Deleted")
)


def project(row: dict | None, event, position: int) -> dict:
    """The listing row after `event`; `row` is the row before it (None before Created)."""
    if isinstance(event, Trigger.Created):
        row = {
            "tenant_id": event.tenant_id,
            "trigger_id": event.trigger_id,
            "created_at": event.timestamp,
            "deleted": False,
            **event.settings,
        }
    elif isinstance(event, Trigger.Updated):
        row = {**row, **event.changes}
    elif isinstance(event, Trigger.Paused):
        row = {**row, "status": "paused"}
    elif isinstance(event, Trigger.Activated):
        row = {**row, "status": "active"}
    elif isinstance(event, Trigger.Deleted):
        row = {**row, "deleted": True}
    return {**row, "version": event.originator_version, "updated_at": event.timestamp, "position": position}
