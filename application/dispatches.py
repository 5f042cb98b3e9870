"""Dispatches: the dispatch log as users see it, and resending one dispatch or many."""

import time

from application.ports import Blocking, DispatchLog, EventLog
from application.records import DispatchFilter, DispatchRecord
from application.rebuilds import Rebuilds
from application.relay import Relay
from application.deliveries import Undeliverable
from domain.customer_events import FIRED
from domain.dispatch import DELIVERED, PENDING, RESENDABLE, DispatchState, fire_of


class DispatchNotFound(Exception):
    pass


class ResendRefused(Exception):
    """The dispatch cannot be resent now; the message says why."""


class Dispatches:
    def __init__(self, dispatch_log: DispatchLog, event_log: EventLog, rebuilds: Rebuilds, relay: Relay,
                 blocking: Blocking, lease_ms: int):
        self.dispatch_log = dispatch_log
        self.event_log = event_log
        self.rebuilds = rebuilds
        self.relay = relay
        self.blocking = blocking
        self.lease_ms = lease_ms

    async def page(self, tenant_id: str, where: DispatchFilter, after: tuple | None,
                   limit: int) -> list[DispatchRecord]:
        return await self.blocking(self.dispatch_log.page, tenant_id, where, after, limit)

    async def get(self, tenant_id: str, dispatch_id: str) -> DispatchRecord:
        record = await self.blocking(self.dispatch_log.get, tenant_id, dispatch_id)
        if record is None:
            record = await self.blocking(self._in_first_attempt, tenant_id, dispatch_id)
        if record is None:
            raise DispatchNotFound(dispatch_id)
        return record

    def _in_first_attempt(self, tenant_id: str, dispatch_id: str) -> DispatchRecord | None:
        """Blocking: a fire whose first attempt has not settled yet has no record, only its event."""
        fire = fire_of(dispatch_id)
        entry = fire and self.event_log.find(tenant_id, fire[0])
        if not entry:
            return None
        for outcome in entry.event.outcomes:
            if outcome.trigger_id == fire[1] and outcome.outcome == FIRED:
                try:
                    target = self.rebuilds.delivery(tenant_id, fire[0], fire[1], outcome.trigger_version,
                                                    dispatch_id).target
                except Undeliverable:
                    target = ""
                logged = entry.event
                return DispatchRecord(dispatch_id, tenant_id, fire[1], outcome.trigger_version, fire[0],
                                      logged.customer_id, outcome.action_type, target, DispatchState(PENDING),
                                      (), logged.received_at_ms)
        return None

    async def resend(self, tenant_id: str, dispatch_id: str, force: bool = False) -> DispatchRecord:
        """Attempt a retrying or dead dispatch (a delivered one with `force`) again now, with its id."""
        statuses = (*RESENDABLE, DELIVERED) if force else RESENDABLE
        record = await self.blocking(self.dispatch_log.claim, tenant_id, dispatch_id, statuses, _now_ms(),
                                     self.lease_ms)
        if record is None:
            current = await self.get(tenant_id, dispatch_id)  # DispatchNotFound when there is none
            if current.state.status == DELIVERED and not force:
                raise ResendRefused("the dispatch was delivered; add ?force=true to send it again")
            if current.state.status == PENDING:
                raise ResendRefused("the dispatch's first attempt has not settled yet")
            raise ResendRefused("the dispatch is being delivered right now")
        self.relay.deliver_soon(record)
        return record

    async def resend_matching(self, tenant_id: str, status: str, trigger_id: str | None, since_ms: int | None,
                              until_ms: int | None) -> int:
        """Make every match due now; the relays of every process deliver them, each once."""
        return await self.blocking(self.dispatch_log.resend, tenant_id, status, trigger_id, since_ms, until_ms,
                                   _now_ms())


def _now_ms() -> int:
    return int(time.time() * 1000)
