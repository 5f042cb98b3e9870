"""Triggers: the commands and queries of the trigger-rule API."""

import secrets
from typing import Callable, Sequence

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.journal import Journal
from application.ports import InvalidTemplate, Templates, TriggerListing
from application.records import UnitOfWork
from application.trigger_index import TriggerIndex
from domain.actions import MASK
from domain.dispatch import TRIGGER_ID_PREFIX
from domain.errors import InvalidTrigger
from domain.trigger import Trigger


class TriggerNotFound(Exception):
    pass


class VersionConflict(Exception):
    pass


class TooManyTriggers(Exception):
    """The tenant has as many active triggers as it may."""


CHANGES = {"Created": "created", "Updated": "updated", "Paused": "paused",
           "Activated": "activated", "Deleted": "deleted"}


class Triggers:
    def __init__(self, journal: Journal, listing: TriggerListing, record: Callable[[Sequence[UnitOfWork]], object],
                 index: TriggerIndex, templates: Templates, max_active: int):
        self.journal = journal
        self.listing = listing
        self.record = record
        self.index = index
        self.templates = templates
        self.max_active = max_active

    def create(self, tenant_id: str, settings: dict, actor: str) -> dict:
        trigger = Trigger.create(tenant_id, TRIGGER_ID_PREFIX + secrets.token_hex(12), settings, actor)
        self._check(trigger, was_active=False)
        self._save(trigger)
        return state_of(trigger)

    def update(self, tenant_id: str, trigger_id: str, settings: dict, actor: str,
               expected_version: int | None = None) -> dict:
        trigger = self._get(tenant_id, trigger_id)
        if expected_version is not None and expected_version != trigger.version:
            raise VersionConflict(f"trigger is at version {trigger.version}, not {expected_version}")
        was_active = trigger.status == "active"
        trigger.change(settings, actor)
        self._check(trigger, was_active)
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
        return self.listing.listing_page(tenant_id, status, event_type, limit, offset)

    def history(self, tenant_id: str, trigger_id: str) -> list[dict]:
        events = list(self.journal.events.get(Trigger.create_id(tenant_id, trigger_id)))
        if not events:
            raise TriggerNotFound(trigger_id)
        return [_audit_entry(e) for e in events]

    def exists(self, tenant_id: str, trigger_id: str) -> None:
        """Raises TriggerNotFound unless the tenant ever had this trigger (deleted ones keep their records)."""
        try:
            self.journal.repository.get(Trigger.create_id(tenant_id, trigger_id), version=1)
        except AggregateNotFoundError:
            raise TriggerNotFound(trigger_id) from None

    def refresh_index(self) -> None:
        rows, position = self.listing.listing_changes(self.index.position)
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

    def _check(self, trigger: Trigger, was_active: bool) -> None:
        """What needs more than the aggregate: templates that parse, and room for another active trigger."""
        try:
            self.templates.compile(trigger.action_config)
        except InvalidTemplate as error:
            raise InvalidTrigger(error.path, error.message) from None
        if trigger.status == "active" and not was_active:
            if self.listing.active_count(trigger.tenant_id) >= self.max_active:
                raise TooManyTriggers(f"the tenant has {self.max_active} active triggers, the most it may have; "
                                      "pause or delete one first")

    def _save(self, trigger: Trigger) -> None:
        try:
            self.record([UnitOfWork(events=list(trigger.collect_events()))])
        except IntegrityError:
            raise VersionConflict("trigger was changed concurrently; read it again") from None
        self.refresh_index()


def state_of(trigger: Trigger) -> dict:
    return {
        "tenant_id": trigger.tenant_id,
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
        fields = {**fields, "action_config": redacted(fields["action_config"])}
    return {"version": event.originator_version, "change": CHANGES[kind], "at": event.timestamp,
            "actor": event.actor, "fields": fields}


def redacted(config: dict) -> dict:
    """History shows that a secret or a header was set or changed, never its value."""
    shown = {k: (MASK if k == "secret" else v) for k, v in config.items()}
    if isinstance(shown.get("headers"), dict):
        shown["headers"] = dict.fromkeys(shown["headers"], MASK)
    return shown
