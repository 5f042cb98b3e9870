"""Triggers: the commands and queries of the trigger-rule API."""

import secrets

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.journal import Journal
from application.ports import Storage, UnitOfWork
from application.trigger_index import TriggerIndex
from domain.actions import WRITE_ONLY_KEYS
from domain.conditions import Condition, Explanation
from domain.customer_events import trigger_event_types
from domain.trigger import Trigger


class TriggerNotFound(Exception):
    pass


class VersionConflict(Exception):
    pass


CHANGES = {"Created": "created", "Updated": "updated", "Paused": "paused",
           "Activated": "activated", "Deleted": "deleted"}


class Triggers:
    def __init__(self, journal: Journal, storage: Storage, index: TriggerIndex):
        self.journal = journal
        self.storage = storage
        self.index = index

    def create(self, tenant_id: str, settings: dict, actor: str) -> dict:
        trigger = Trigger.create(tenant_id, "tr_" + secrets.token_hex(12), settings, actor)
        self._save(trigger)
        return state_of(trigger)

    def update(self, tenant_id: str, trigger_id: str, settings: dict, actor: str,
               expected_version: int | None = None) -> dict:
        trigger = self._get(tenant_id, trigger_id)
        if expected_version is not None and expected_version != trigger.version:
            raise VersionConflict(f"trigger is at version {trigger.version}, not {expected_version}")
        trigger.change(settings, actor)
        self._save(trigger)
        return state_of(trigger)

    def delete(self, tenant_id: str, trigger_id: str, actor: str) -> None:
        trigger = self._get(tenant_id, trigger_id)
        trigger.delete(actor)
        self._save(trigger)

    def get(self, tenant_id: str, trigger_id: str, version: int | None = None) -> dict:
        return state_of(self._get(tenant_id, trigger_id, version))

    def page(self, tenant_id: str, status: str | None, event_type: str | None,
             limit: int, offset: int) -> tuple[list[dict], int]:
        return self.storage.listing_page(tenant_id, status, event_type, limit, offset)

    def history(self, tenant_id: str, trigger_id: str) -> list[dict]:
        events = list(self.journal.events.get(Trigger.create_id(tenant_id, trigger_id)))
        if not events:
            raise TriggerNotFound(trigger_id)
        return [_audit_entry(e) for e in events]

    def test(self, tenant_id: str, trigger_id: str, event: dict) -> Explanation:
        """Dry run: explains the condition against a sample event; records and dispatches nothing."""
        trigger = self._get(tenant_id, trigger_id)
        explanation = Condition.parse(trigger.condition).explain(event["data"], event)
        if trigger.status != "active":
            return Explanation(False, "Trigger is paused", explanation.trace)
        if event.get("type") and trigger.event_type not in trigger_event_types(event["type"]):
            return Explanation(False, f"Trigger listens to {trigger.event_type}, not {event['type']}",
                               explanation.trace)
        return explanation

    def refresh_index(self) -> None:
        rows, position = self.storage.listing_changes(self.index.position)
        self.index.apply(rows, position)

    def _get(self, tenant_id: str, trigger_id: str, version: int | None = None) -> Trigger:
        try:
            trigger = self.journal.repository.get(Trigger.create_id(tenant_id, trigger_id), version=version)
        except AggregateNotFoundError:
            raise TriggerNotFound(trigger_id) from None
        # The repository answers a version past the last with the latest state; that version does not exist.
        if trigger.deleted or (version is not None and trigger.version != version):
            raise TriggerNotFound(trigger_id)
        return trigger

    def _save(self, trigger: Trigger) -> None:
        try:
            self.storage.record([UnitOfWork(events=list(trigger.collect_events()))])
        except IntegrityError:
            raise VersionConflict("trigger was changed concurrently; read it again") from None
        self.refresh_index()


def state_of(trigger: Trigger) -> dict:
    return {
        "trigger_id": trigger.trigger_id,
        **trigger.settings,
        "created_at": trigger.created_on,
        "updated_at": trigger.modified_on,
        "version": trigger.version,
    }


def _audit_entry(event) -> dict:
    kind = type(event).__name__
    if kind == "Created":
        fields = event.settings
    elif kind == "Updated":
        fields = event.changes
    else:
        fields = {}
    if isinstance(fields.get("action_config"), dict):
        fields = {**fields, "action_config": _redacted(fields["action_config"])}
    return {"version": event.originator_version, "change": CHANGES[kind], "at": event.timestamp,
            "actor": event.actor, "fields": fields}


def _redacted(config: dict) -> dict:
    return {k: ("********" if k in WRITE_ONLY_KEYS else v) for k, v in config.items()}


