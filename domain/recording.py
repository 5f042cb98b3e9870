"""An aggregate's events, recorded without building the aggregate.

The ingest path never reads back the CustomerEvent, Dispatch or CustomerCooldown it records: it
needs only the events their commands would produce. Building the aggregate to collect them costs
ten times the event itself (about 44 µs against 4.5 here), so the hot path constructs the same
events directly. The store cannot tell the difference, and getting the aggregate replays them.
"""

from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic


def creation(aggregate: type[Aggregate], event_class: type, originator_id: UUID, **attributes):
    """The event that creating `aggregate` with `attributes` would record."""
    return event_class(originator_topic=get_topic(aggregate), originator_id=originator_id,
                       originator_version=aggregate.INITIAL_VERSION,
                       timestamp=event_class.create_timestamp(), **attributes)


def next_event(event_class: type, originator_id: UUID, version: int, **attributes):
    """The event a command would record as the aggregate's `version`."""
    return event_class(originator_id=originator_id, originator_version=version,
                       timestamp=event_class.create_timestamp(), **attributes)
