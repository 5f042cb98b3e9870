"""The Trigger aggregate: a tenant's rule that turns matching customer events into an action."""

from eventsourcing.domain import Aggregate, event

from domain.actions import MASK, canonical_action_type, validated_config
from domain.conditions import Condition, InvalidCondition
from domain.customer_events import TRIGGER_EVENT_TYPE
from domain.errors import InvalidTrigger
from domain.ids import keyed_id

STATUSES = ("active", "paused")
DEFAULTS = {
    "description": "",
    "action_config": {},
    "condition": None,
    "priority": 50,
    "cooldown_ms": 0,
    "status": "active",
    "ignore_frequency_caps": False,
}
SETTINGS = ("name", "description", "event_type", "action_type", "action_config",
            "condition", "priority", "cooldown_ms", "status", "ignore_frequency_caps")
# Limits on a rule's fields; the API's request models declare the same ones from here.
NAME_MAX = 200
DESCRIPTION_MAX = 2000
EVENT_TYPE_MAX = 100
MAX_INT = 2**53 - 1  # the largest integer every JSON client reads exactly


class TriggerDeleted(Exception):
    """A command reached a trigger that was deleted."""


class Trigger(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, trigger_id: str):
        return keyed_id(tenant_id, "trigger", trigger_id)

    @classmethod
    def create(cls, tenant_id: str, trigger_id: str, settings: dict, actor: str) -> "Trigger":
        missing = [f for f in ("name", "event_type", "action_type") if f not in settings]
        if missing:
            raise InvalidTrigger(missing[0], "is required")
        return cls(tenant_id, trigger_id, validated({**DEFAULTS, **settings}), actor)

    @event("Created")
    def __init__(self, tenant_id: str, trigger_id: str, settings: dict, actor: str):
        self.tenant_id = tenant_id
        self.trigger_id = trigger_id
        self.deleted = False
        self.__dict__.update({**DEFAULTS, **settings})  # settings added since default for older triggers

    @property
    def settings(self) -> dict:
        return {name: getattr(self, name) for name in SETTINGS}

    def change(self, settings: dict, actor: str) -> None:
        """Apply a partial update; only fields that really change are recorded."""
        self._refuse_if_deleted()
        checked = validated({**self.settings, **self._keeping_write_only(settings)})
        changes = {k: checked[k] for k in settings if k != "status" and checked[k] != getattr(self, k)}
        if changes:
            self._update(changes, actor)
        if settings.get("status") == "paused" and self.status == "active":
            self.pause(actor)
        elif settings.get("status") == "active" and self.status == "paused":
            self.activate(actor)

    def _keeping_write_only(self, settings: dict) -> dict:
        # Clients never see a webhook's secret or header values, so they cannot send them back: a
        # new actionConfig without the secret keeps it, and a header sent back masked keeps its value.
        config = settings.get("action_config")
        if not isinstance(config, dict) or settings.get("action_type", self.action_type) != "webhook":
            return settings
        kept = dict(config)
        secret = self.action_config.get("secret")
        if secret is not None and "secret" not in kept:
            kept["secret"] = secret
        headers, known = kept.get("headers"), self.action_config.get("headers") or {}
        if isinstance(headers, dict):
            kept["headers"] = {name: known.get(name, value) if value == MASK else value
                               for name, value in headers.items()}
        return {**settings, "action_config": kept}

    @event("Updated")
    def _update(self, changes: dict, actor: str) -> None:
        self.__dict__.update(changes)

    @event("Paused")
    def pause(self, actor: str) -> None:
        self.status = "paused"

    @event("Activated")
    def activate(self, actor: str) -> None:
        self.status = "active"

    def delete(self, actor: str) -> None:
        self._refuse_if_deleted()
        self._delete(actor)

    @event("Deleted")
    def _delete(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise TriggerDeleted(self.trigger_id)


def validated(settings: dict) -> dict:
    """Every trigger rule checked on a full set of settings; returns them normalised."""
    name = settings["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise InvalidTrigger("name", f"must be 1 to {NAME_MAX} characters")
    if not isinstance(settings["description"], str) or len(settings["description"]) > DESCRIPTION_MAX:
        raise InvalidTrigger("description", f"must be a string of at most {DESCRIPTION_MAX} characters")
    for field in ("name", "description"):
        if "\x00" in settings[field]:  # PostgreSQL text cannot hold it; SQLite would, so refuse it on both
            raise InvalidTrigger(field, "must not contain the NUL character")
    event_type = settings["event_type"]
    if not isinstance(event_type, str) or len(event_type) > EVENT_TYPE_MAX or not TRIGGER_EVENT_TYPE.match(event_type):
        raise InvalidTrigger("eventType", "must be a lowercase dotted name such as purchase or outcome.recorded")
    for field, public, low in (("priority", "priority", -MAX_INT), ("cooldown_ms", "cooldownMs", 0)):
        value = settings[field]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_INT:
            raise InvalidTrigger(public, f"must be an integer from {low} to {MAX_INT}")
    if not isinstance(settings["ignore_frequency_caps"], bool):
        raise InvalidTrigger("ignoreFrequencyCaps", "must be true or false")
    if settings["status"] not in STATUSES:
        raise InvalidTrigger("status", "must be active or paused")
    action_type = canonical_action_type(settings["action_type"])
    config = validated_config(action_type, settings["action_config"] or {})
    try:
        Condition.parse(settings["condition"])
    except InvalidCondition as error:
        raise InvalidTrigger("condition", str(error), error.details) from None
    return {**settings, "action_type": action_type, "action_config": config}
