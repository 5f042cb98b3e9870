"""The event log: look-ups by event and customer, the relay's tail and checkpoint, and retention."""

from typing import Sequence

from sqlalchemy import Text, and_, bindparam, case, cast, delete, func, literal, or_, select

from application.records import EventEntry, LoggedEvent, StreamAck, TriggerOutcome, Unsettled
from domain.dispatch import DISPATCH_ID_PREFIX, EVENT_ID_PREFIX, SEPARATOR, UNSETTLED
from infrastructure.sql.database import Database
from infrastructure.sql.positions import position_of
from infrastructure.sql.tables import dispatches, dispatches_of, event_log, positions, stream_acks

RELAY = "relay"
_ACKED = event_log.outerjoin(stream_acks, stream_acks.c.event_id == event_log.c.event_id)
_ENTRY = select(event_log, stream_acks.c.sequence).select_from(_ACKED)
# What tells whether an event is settled: everything but the body, which is most of a row.
_BRIEF = select(*(c for c in event_log.c if c.name != "body"), stream_acks.c.sequence).select_from(_ACKED)
# The relay's checkpoint, read inside the statements that go from it (0 before its first advance).
_CHECKPOINT = (select(func.coalesce(func.max(positions.c.position), 0)).where(positions.c.name == RELAY)
               .scalar_subquery())


class SqlEventLog:
    def __init__(self, database: Database):
        self.database = database
        self._unsettled = self._unsettled_statement()
        self._backlog = select(func.count(), func.min(event_log.c.received_at_ms)).where(
            event_log.c.position > _CHECKPOINT)

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

    def unsettled(self, after: int, limit: int) -> Unsettled:
        """Settled events are told apart in the database, so a stretch of them costs the relay one
        row (its last) instead of a row each: streamed, and as many dispatch records in the event's
        key range as its outcomes hold fires. The checkpoint is read in the same statement."""
        with self.database.reading() as connection:
            rows = connection.execute(self._unsettled, {"after": after, "limit": limit}).all()
        if not rows:
            return Unsettled([], after, after, 0)
        last = rows[-1]
        return Unsettled([_entry(row, body=False) for row in rows if not row.settled], last.after, last.through,
                         last.looked_at)

    def _unsettled_statement(self):
        """Built once: SQLAlchemy keeps a statement object's cache key, so each stretch skips
        building and walking the statement again (1.7 ms of the relay thread's CPU a call)."""
        start = self.database.greatest(bindparam("after"), _CHECKPOINT)
        stretch = (_BRIEF.add_columns(_fires(event_log.c.outcomes).label("fires"), start.label("after"))
                   .where(event_log.c.position > start).order_by(event_log.c.position)
                   .limit(bindparam("limit")).subquery())
        looked = select(stretch, func.max(stretch.c.position).over().label("through"),
                        func.count().over().label("looked_at")).subquery()
        records = (select(func.count()).where(*self._dispatch_range(looked.c.event_id))
                   .scalar_subquery())
        settled = and_(looked.c.sequence.is_not(None),
                       case((looked.c.fires == 0, True), else_=records >= looked.c.fires))
        return (select(looked, settled.label("settled"))
                .where(or_(~settled, looked.c.position == looked.c.through)).order_by(looked.c.position))

    def _dispatch_range(self, event_id) -> tuple:
        """tables.dispatches_of in SQL, for a column of the log's event ids (each starts with
        EVENT_ID_PREFIX): the key range of the event's dispatch ids."""
        stem = literal(DISPATCH_ID_PREFIX) + func.substr(event_id, len(EVENT_ID_PREFIX) + 1)
        lower, upper = stem + SEPARATOR, stem + chr(ord(SEPARATOR) + 1)
        if self.database.is_postgres:  # the key's collation, so the comparison can use its index
            lower, upper = lower.collate("C"), upper.collate("C")
        return dispatches.c.id > lower, dispatches.c.id < upper

    def bodies(self, event_ids: Sequence[str]) -> dict[str, dict]:
        return self.database.look_up(event_log.c.event_id, event_log.c.body, event_ids)

    def backlog(self, now_ms: int) -> tuple[int, int]:
        """How many events are past the checkpoint, and the age in ms of the oldest of them."""
        with self.database.reading() as connection:
            waiting, oldest = connection.execute(self._backlog).one()
        return waiting, max(0, now_ms - oldest) if oldest is not None else 0

    def advance(self, position: int) -> None:
        """Only ever forward, in one statement: another process's relay may have passed it already.
        On PostgreSQL the commit does not wait for the WAL's flush: a checkpoint lost in a crash
        only has the relay look again at events it had settled."""
        statement = self.database.upsert(positions).values(name=RELAY, position=position)
        with self.database.engine.begin() as connection:
            if self.database.is_postgres:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            connection.execute(statement.on_conflict_do_update(index_elements=[positions.c.name], set_={
                "position": self.database.greatest(positions.c.position, statement.excluded.position)}))

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
                dispatches.c.status.in_(UNSETTLED), or_(*map(dispatches_of, old)))).scalars())
            doomed = [event_id for event_id in old if event_id not in unsettled]
            if doomed:
                session.execute(delete(dispatches).where(or_(*map(dispatches_of, doomed))))
                session.execute(delete(stream_acks).where(stream_acks.c.event_id.in_(doomed)))
                session.execute(delete(event_log).where(event_log.c.event_id.in_(doomed)))
        return len(doomed)


def _fires(outcomes):
    """How many outcomes are "fired", counted in the JSON text on both databases: no other value of
    an outcome ([trigger id, version, action type, outcome]) can hold that quoted word."""
    text = cast(outcomes, Text)
    return (func.length(text) - func.length(func.replace(text, '"fired"', ""))) // len('"fired"')


def _entry(row, body: bool = True) -> EventEntry:
    outcomes = tuple(TriggerOutcome(*outcome) for outcome in row.outcomes)
    event = LoggedEvent(row.tenant_id, row.event_id, row.customer_id, row.type, row.received_at_ms,
                        row.body if body else None, outcomes)
    return EventEntry(row.position, event, row.sequence)
