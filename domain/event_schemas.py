"""Event schemas: a tenant's JSON Schema (draft 2020-12) for one ingest type's `data`, with its history.

Whether a document is a valid schema, and what data breaks it, is for a JSON Schema library to say
(application.ports.SchemaCompiler); the aggregate keeps what was defined, by whom, and when.
"""

from eventsourcing.domain import Aggregate, event

from domain.customer_events import INGEST_TYPES
from domain.errors import InvalidTrigger
from domain.ids import keyed_id

MAX_SCHEMA_CHARS = 64 * 1024


class InvalidSchema(InvalidTrigger):
    """The document is not a schema we keep; `details` says where."""


class SchemaRemoved(Exception):
    """A command reached a schema that was removed."""


def check_event_type(event_type: str) -> None:
    if event_type not in INGEST_TYPES:
        raise InvalidSchema("eventType", f"schemas are for the ingest types: {', '.join(INGEST_TYPES)}")


class EventSchema(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, event_type: str):
        return keyed_id(tenant_id, "event-schema", event_type)

    @event("Defined")
    def __init__(self, tenant_id: str, event_type: str, schema: dict, actor: str):
        self.tenant_id = tenant_id
        self.event_type = event_type
        self.schema = schema
        self.removed = False

    @event("Replaced")
    def replace(self, schema: dict, actor: str) -> None:
        """A new schema, also for a type whose schema was removed."""
        self.schema = schema
        self.removed = False

    def remove(self, actor: str) -> None:
        if self.removed:
            raise SchemaRemoved(self.event_type)
        self._remove(actor)

    @event("Removed")
    def _remove(self, actor: str) -> None:
        self.removed = True
