"""Look-ups: what became of an event, a customer's timeline, and a trigger's counts."""

from dataclasses import dataclass

from application.ports import Blocking, DispatchLog, EventLog
from application.records import EventEntry, TriggerStats
from domain.customer_events import FIRED
from domain.dispatch import PENDING, dispatch_id


class EventNotFound(Exception):
    pass


@dataclass(frozen=True)
class EventStory:
    """An event as recorded, and for each fire the status of its dispatch."""

    entry: EventEntry
    dispatch_statuses: dict[str, str]  # dispatch id → status


class Lookups:
    def __init__(self, event_log: EventLog, dispatch_log: DispatchLog, blocking: Blocking):
        self.event_log = event_log
        self.dispatch_log = dispatch_log
        self.blocking = blocking

    async def event(self, tenant_id: str, event_id: str) -> EventStory:
        return await self.blocking(self._event, tenant_id, event_id)

    def _event(self, tenant_id: str, event_id: str) -> EventStory:
        entry = self.event_log.find(tenant_id, event_id)
        if entry is None:
            raise EventNotFound(event_id)
        return self._stories([entry])[0]

    async def customer_events(self, tenant_id: str, customer_id: str, before: int | None,
                              limit: int) -> list[EventStory]:
        return await self.blocking(self._customer_events, tenant_id, customer_id, before, limit)

    def _customer_events(self, tenant_id, customer_id, before, limit) -> list[EventStory]:
        return self._stories(self.event_log.of_customer(tenant_id, customer_id, before, limit))

    def _stories(self, entries: list[EventEntry]) -> list[EventStory]:
        fired = [[dispatch_id(e.event.event_id, o.trigger_id) for o in e.event.outcomes if o.outcome == FIRED]
                 for e in entries]
        every = [d for ids in fired for d in ids]
        known = self.dispatch_log.statuses(every) if every else {}
        return [EventStory(e, {d: known.get(d, PENDING) for d in ids}) for e, ids in zip(entries, fired)]

    async def trigger_stats(self, tenant_id: str, trigger_id: str) -> TriggerStats:
        found = await self.blocking(self.dispatch_log.stats, tenant_id, [trigger_id])
        return found.get(trigger_id, TriggerStats())
