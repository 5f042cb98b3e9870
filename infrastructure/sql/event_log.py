"""The event log: look-ups by event and customer, the relay's tail and checkpoint, and retention."""

from typing import Sequence

from sqlalchemy import and_, delete, func, or_, select

from application.ports import EventEntry, LoggedEvent, StreamAck, TriggerOutcome
from domain.dispatch import UNSETTLED, event_prefix
from infrastructure.sql.database import Database
from infrastructure.sql.positions import lock_position, position_of, set_position
from infrastructure.sql.tables import dispatches, event_log, stream_acks

RELAY = "relay"
_ENTRY = select(event_log, stream_acks.c.sequence).select_from(
    event_log.outerjoin(stream_acks, stream_acks.c.event_id == event_log.c.event_id))


class SqlEventLog:
    def __init__(self, database: Database):
        self.database = database

    def find(self, tenant_id: str, event_id: str) -> EventEntry | None:
        with self.database.reading() as connection:
            row = connection.execute(_ENTRY.where(event_log.c.event_id == event_id,
                                                  event_log.c.tenant_id == tenant_id)).first()
        return _entry(row) if row is not None else None

    def of_customer(self, tenant_id: str, customer_id: str, before: int | None, limit: int) -> list[EventEntry]:
        where = [event_log.c.tenant_id == tenant_id, event_log.c.customer_id == customer_id]
        if before is not None:
            where.append(event_log.c.position < before)
        with self.database.reading() as connection:
            rows = connection.execute(_ENTRY.where(*where).order_by(event_log.c.position.desc()).limit(limit))
            return [_entry(row) for row in rows]

    def tail(self, after: int, limit: int) -> list[EventEntry]:
        with self.database.reading() as connection:
            rows = connection.execute(_ENTRY.where(event_log.c.position > after)
                                      .order_by(event_log.c.position).limit(limit))
            return [_entry(row) for row in rows]

    def checkpoint(self) -> int:
        with self.database.reading() as connection:
            return position_of(connection, RELAY)

    def backlog(self, now_ms: int) -> tuple[int, int]:
        """How many events are past the checkpoint, and the age in ms of the oldest of them."""
        with self.database.reading() as connection:
            checkpoint = position_of(connection, RELAY)
            waiting, oldest = connection.execute(
                select(func.count(), func.min(event_log.c.received_at_ms)).where(event_log.c.position > checkpoint)
            ).one()
        return waiting, max(0, now_ms - oldest) if oldest is not None else 0

    def advance(self, position: int) -> None:
        with self.database.transaction() as session:
            lock_position(session, RELAY)
            set_position(session, RELAY, position, self.database)

    def acknowledge(self, acks: Sequence[StreamAck]) -> None:
        with self.database.transaction() as session:
            session.execute(self.database.upsert(stream_acks).on_conflict_do_nothing(),
                            [{"event_id": a.event_id, "sequence": a.sequence} for a in acks])

    def purge(self, received_before_ms: int, limit: int) -> int:
        """Events older than the retention go with their acknowledgement and dispatches, unless the relay
        has not caught up with them or a dispatch of theirs is still pending or retrying."""
        with self.database.transaction() as session:
            old = session.execute(
                select(event_log.c.event_id).where(event_log.c.received_at_ms < received_before_ms,
                                                   event_log.c.position <= position_of(session, RELAY))
                .order_by(event_log.c.position).limit(limit)).scalars().all()
            if not old:
                return 0
            unsettled = set(session.execute(select(dispatches.c.event_id).where(
                dispatches.c.status.in_(UNSETTLED), or_(*_dispatches_of(old)))).scalars())
            doomed = [event_id for event_id in old if event_id not in unsettled]
            if doomed:
                session.execute(delete(dispatches).where(or_(*_dispatches_of(doomed))))
                session.execute(delete(stream_acks).where(stream_acks.c.event_id.in_(doomed)))
                session.execute(delete(event_log).where(event_log.c.event_id.in_(doomed)))
        return len(doomed)


def _dispatches_of(event_ids: Sequence[str]) -> list:
    """Each event's dispatches as a range of the primary key (their ids start with the event's)."""
    ranges = []
    for event_id in event_ids:
        prefix = event_prefix(event_id)
        ranges.append(and_(dispatches.c.id >= prefix, dispatches.c.id < prefix[:-1] + chr(ord(prefix[-1]) + 1)))
    return ranges


def _entry(row) -> EventEntry:
    outcomes = tuple(TriggerOutcome(*outcome) for outcome in row.outcomes)
    event = LoggedEvent(row.tenant_id, row.event_id, row.customer_id, row.type, row.received_at_ms, row.body,
                        outcomes)
    return EventEntry(row.position, event, row.sequence)
