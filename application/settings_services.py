"""The tenant settings API's commands and queries: event schemas and frequency caps, each with history."""

from typing import Callable, Protocol, Sequence

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.journal import Journal
from application.ports import SchemaCompiler
from application.records import UnitOfWork
from application.settings_listing import EVENT_SCHEMA, FREQUENCY_CAPS
from application.tenant_settings import TenantSettings
from application.triggers import VersionConflict
from domain.event_schemas import MAX_SCHEMA_CHARS, EventSchema, InvalidSchema, SchemaRemoved, check_event_type
from domain.frequency_caps import TenantFrequencyCaps, validated_caps


class SchemaNotFound(Exception):
    pass


class SettingsStore(Protocol):
    def find(self, tenant_id: str, kind: str, name: str) -> dict | None: ...

    def of_tenant(self, tenant_id: str, kind: str) -> list[dict]: ...

    def changes(self, after_position: int) -> tuple[list[dict], int]: ...

    def position(self) -> int: ...


class TenantSettingsService:
    def __init__(self, journal: Journal, store: SettingsStore, record: Callable[[Sequence[UnitOfWork]], object],
                 index: TenantSettings, compiler: SchemaCompiler):
        self.journal = journal
        self.store = store
        self.record = record
        self.index = index
        self.compiler = compiler

    # -- event schemas ------------------------------------------------------------------------

    def put_schema(self, tenant_id: str, event_type: str, schema: dict, actor: str) -> tuple[dict, bool]:
        """Defines or replaces a type's schema; returns its view and whether it is new."""
        check_event_type(event_type)
        if len(repr(schema)) > MAX_SCHEMA_CHARS:
            raise InvalidSchema("schema", f"a schema holds at most {MAX_SCHEMA_CHARS} characters")
        self.compiler.compile(schema)  # raises InvalidSchema, naming the place
        aggregate = self._aggregate(EventSchema.create_id(tenant_id, event_type))
        created = aggregate is None or aggregate.removed
        if aggregate is None:
            aggregate = EventSchema(tenant_id, event_type, schema, actor)
        else:
            aggregate.replace(schema, actor)
        self._save(aggregate)
        return self.schema(tenant_id, event_type), created

    def schema(self, tenant_id: str, event_type: str) -> dict:
        row = self.store.find(tenant_id, EVENT_SCHEMA, event_type)
        if row is None or row["document"] is None:
            raise SchemaNotFound(event_type)
        return row

    def schemas(self, tenant_id: str) -> list[dict]:
        return [row for row in self.store.of_tenant(tenant_id, EVENT_SCHEMA) if row["document"] is not None]

    def remove_schema(self, tenant_id: str, event_type: str, actor: str) -> None:
        aggregate = self._aggregate(EventSchema.create_id(tenant_id, event_type))
        if aggregate is None:
            raise SchemaNotFound(event_type)
        try:
            aggregate.remove(actor)
        except SchemaRemoved:
            raise SchemaNotFound(event_type) from None
        self._save(aggregate)

    def schema_history(self, tenant_id: str, event_type: str) -> list[dict]:
        return self._history(EventSchema.create_id(tenant_id, event_type), SchemaNotFound(event_type),
                             {"Defined": "defined", "Replaced": "replaced", "Removed": "removed"}, "schema")

    # -- frequency caps -----------------------------------------------------------------------

    def caps(self, tenant_id: str) -> list[dict]:
        row = self.store.find(tenant_id, FREQUENCY_CAPS, "")
        return row["document"] if row else []

    def put_caps(self, tenant_id: str, raw, actor: str) -> list[dict]:
        caps = [cap.as_dict() for cap in validated_caps(raw)]
        aggregate = self._aggregate(TenantFrequencyCaps.create_id(tenant_id))
        if aggregate is None:
            aggregate = TenantFrequencyCaps(tenant_id, caps, actor)
        elif aggregate.caps != caps:
            aggregate.change(caps, actor)
        self._save(aggregate)
        return caps

    def caps_history(self, tenant_id: str) -> list[dict]:
        return self._history(TenantFrequencyCaps.create_id(tenant_id), None,
                             {"Created": "created", "Changed": "changed"}, "caps")

    # -- shared -------------------------------------------------------------------------------

    def refresh_index(self) -> None:
        rows, position = self.store.changes(self.index.position)
        self.index.apply(rows, position)

    def _aggregate(self, aggregate_id):
        try:
            return self.journal.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _save(self, aggregate) -> None:
        events = list(aggregate.collect_events())
        if not events:
            return
        try:
            self.record([UnitOfWork(events=events)])
        except IntegrityError:
            raise VersionConflict("changed concurrently; read it again") from None
        self.refresh_index()

    def _history(self, aggregate_id, missing: Exception | None, changes: dict, field: str) -> list[dict]:
        events = list(self.journal.events.get(aggregate_id))
        if not events and missing is not None:
            raise missing
        return [{"version": e.originator_version, "change": changes[type(e).__name__], "at": e.timestamp,
                 "actor": e.actor, "fields": {field: getattr(e, field)} if hasattr(e, field) else {}}
                for e in events]
