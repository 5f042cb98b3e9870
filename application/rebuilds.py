"""A dispatch's delivery built again from its facts: the event as logged and the trigger at the version that fired.

The relay and a resend send exactly what the request would have: the same function renders it
from the same inputs, so a dispatch keeps its payload and target without storing a copy.
"""

from collections import OrderedDict

from eventsourcing.application import AggregateNotFoundError

from application.deliveries import TriggerSpec, Undeliverable, build_delivery
from application.journal import Journal
from application.ports import Delivery, EventLog, Templates
from application.trigger_index import trigger_spec
from domain.trigger import Trigger


class Rebuilds:
    def __init__(self, journal: Journal, event_log: EventLog, templates: Templates, capacity: int = 1024):
        self.journal = journal
        self.event_log = event_log
        self.templates = templates
        self.capacity = capacity
        self._specs: OrderedDict[tuple, TriggerSpec] = OrderedDict()  # a version never changes

    def delivery(self, tenant_id: str, event_id: str, trigger_id: str, version: int, dispatch_id: str) -> Delivery:
        """Blocking. Raises Undeliverable when the facts are gone or the config cannot render."""
        entry = self.event_log.find(tenant_id, event_id)
        if entry is None:
            raise Undeliverable(f"event {event_id} is no longer in the event log")
        return build_delivery(self.spec(tenant_id, trigger_id, version), entry.event.body, dispatch_id)

    def spec(self, tenant_id: str, trigger_id: str, version: int) -> TriggerSpec:
        key = (tenant_id, trigger_id, version)
        spec = self._specs.get(key)
        if spec is None:
            try:
                trigger = self.journal.repository.get(Trigger.create_id(tenant_id, trigger_id), version=version)
            except AggregateNotFoundError:
                raise Undeliverable(f"trigger {trigger_id} version {version} is not recorded") from None
            spec = self._specs[key] = trigger_spec(self.templates, {
                "tenant_id": tenant_id, "trigger_id": trigger_id, "name": trigger.name, "version": version,
                "action_type": trigger.action_type, "action_config": trigger.action_config})
            if len(self._specs) > self.capacity:
                self._specs.popitem(last=False)
        return spec
