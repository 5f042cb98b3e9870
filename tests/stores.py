"""The storage side of the app, built without the app: for integration tests on either database."""

from dataclasses import dataclass

from application.trigger_index import TriggerIndex
from application.triggers import Triggers
from infrastructure.sql.database import Database, open_journal
from infrastructure.sql.dispatch_log import SqlDispatchLog
from infrastructure.sql.event_log import SqlEventLog
from infrastructure.sql.idempotency import SqlIdempotency
from infrastructure.sql.listing import SqlTriggerListing
from infrastructure.sql.tenant_settings import SqlTenantSettings
from infrastructure.sql.units import UnitRecorder
from infrastructure.templates import LiquidTemplates


async def inline(fn, *args):
    """A Blocking port that runs the call on the event loop: good enough for tests."""
    return fn(*args)


@dataclass
class Stores:
    database: Database
    listing: SqlTriggerListing
    recorder: UnitRecorder
    event_log: SqlEventLog
    dispatch_log: SqlDispatchLog
    idempotency: SqlIdempotency

    @classmethod
    def open(cls, url: str) -> "Stores":
        database = Database(open_journal(url))
        listing = SqlTriggerListing(database)
        settings = SqlTenantSettings(database)
        return cls(database, listing, UnitRecorder(database, [listing, settings], inline), SqlEventLog(database),
                   SqlDispatchLog(database), SqlIdempotency(database))

    def triggers(self, max_active: int = 10_000) -> Triggers:
        templates = LiquidTemplates()
        return Triggers(self.database.journal, self.listing, self.recorder.record, TriggerIndex(templates), templates,
                        max_active)

    async def close(self) -> None:
        await self.recorder.close()
        self.database.journal.close()
