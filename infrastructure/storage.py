"""SQL storage: the journal's events, the listing projection and the outbox in one transaction.

The same code runs on SQLite (embedded default) and PostgreSQL through eventsourcing-sqlalchemy,
which lets our own tables share the event store's session and therefore its commit.
"""

from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Sequence

from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.pool import NullPool

from application.journal import Journal
from application.ports import Blocking, OutboxMessage, UnitOfWork
from application.trigger_listing import TRIGGER_TOPICS, project
from domain.trigger import Trigger
from infrastructure.pg_writer import PostgresWriter
from infrastructure.tables import metadata, outbox, projection_position, trigger_counts, trigger_listing

LISTING = "trigger_listing"
DEEP_OFFSET = 1000
TRIGGER_EVENTS = (Trigger.Created, Trigger.Updated, Trigger.Paused, Trigger.Activated, Trigger.Deleted)
SCHEMA_LOCK = 0x7472697063  # a PostgreSQL advisory lock key of our own


def open_journal(sqlalchemy_url: str) -> Journal:
    with _schema_lock(sqlalchemy_url):
        journal = Journal(env={"PERSISTENCE_MODULE": "infrastructure.event_recorder:Factory",
                               "SQLALCHEMY_URL": sqlalchemy_url})
        metadata.create_all(journal.recorder.datastore.engine)
    return journal


@contextmanager
def _schema_lock(sqlalchemy_url: str):
    """Processes starting together would race CREATE TABLE IF NOT EXISTS, which PostgreSQL does not serialise."""
    if not sqlalchemy_url.startswith("postgresql"):
        yield
        return
    engine = create_engine(sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
    finally:
        engine.dispose()


class SqlStorage:
    def __init__(self, journal: Journal):
        self.journal = journal
        self.recorder = journal.recorder
        self._engine = self.recorder.datastore.engine
        self.is_postgres = self._engine.dialect.name == "postgresql"
        # Ingest's writes (no trigger changes, so no projection to apply) skip the session on PostgreSQL.
        self.writer = PostgresWriter(
            self._engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
            journal.mapper, self.recorder.events_table_name, outbox.name) if self.is_postgres else None

    # -- writes -------------------------------------------------------------------------

    async def record_async(self, units: Sequence[UnitOfWork], blocking: Blocking) -> Sequence[int]:
        """record() for the event loop. On PostgreSQL, units without trigger changes go down on the
        writer's own connection, and a clash refuses only its unit; the rest run record() through
        `blocking`, where a clash raises IntegrityError for the whole batch."""
        if self.writer is not None and not any(isinstance(e, TRIGGER_EVENTS) for u in units for e in u.events):
            return await self.writer.write(units)
        return await blocking(self.record, units)

    def record(self, units: Sequence[UnitOfWork]) -> Sequence[int]:
        events = [e for unit in units for e in unit.events]
        added = [m for unit in units for m in unit.outbox_added]
        done = [i for unit in units for i in unit.outbox_done]
        with self.recorder.transaction(commit=True) as session:
            recordings = self.journal.save(*events) if events else []
            trigger_changes = [r for r in recordings if isinstance(r.domain_event, TRIGGER_EVENTS)]
            if trigger_changes:
                self._project(session, [(r.domain_event, r.notification.id) for r in trigger_changes])
            if added:
                session.execute(insert(outbox), [_row(m) for m in added])
            if done:
                session.execute(delete(outbox).where(outbox.c.id.in_(done)))
        return ()

    def _project(self, session, changes: list) -> None:
        # Taking the position row first orders us against a concurrent replay.
        position = max(p for _, p in changes)
        self._lock_position(session)
        session.execute(update(projection_position).where(projection_position.c.name == LISTING)
                        .values(position=func.greatest(projection_position.c.position, position)
                                if self.is_postgres else func.max(projection_position.c.position, position)))
        rows: dict = {}
        counts: Counter = Counter()
        for event, notification_id in changes:
            key = str(event.originator_id)
            if key not in rows:
                rows[key] = self._listing_row(session, key)
                counts.subtract(_counted([rows[key]]))
            rows[key] = project(rows[key], event, notification_id)
        counts.update(_counted(rows.values()))
        for key, row in rows.items():
            session.execute(delete(trigger_listing).where(trigger_listing.c.aggregate_id == key))
            session.execute(insert(trigger_listing), [_listing_values(key, row)])
        for (tenant_id, status, event_type), change in counts.items():
            if change:
                self._count(session, tenant_id, status, event_type, change)

    def _count(self, session, tenant_id: str, status: str, event_type: str, change: int) -> None:
        key = (trigger_counts.c.tenant_id == tenant_id, trigger_counts.c.status == status,
               trigger_counts.c.event_type == event_type)
        if not session.execute(update(trigger_counts).where(*key)
                               .values(triggers=trigger_counts.c.triggers + change)).rowcount:
            session.execute(insert(trigger_counts), [{"tenant_id": tenant_id, "status": status,
                                                      "event_type": event_type, "triggers": change}])

    def _lock_position(self, session) -> None:
        found = session.execute(select(projection_position.c.position)
                                .where(projection_position.c.name == LISTING)
                                .with_for_update()).first()
        if found is None:
            session.execute(insert(projection_position), [{"name": LISTING, "position": 0}])

    def _listing_row(self, session, aggregate_id: str) -> dict | None:
        found = _listing_rows(session.execute(select(trigger_listing)
                                              .where(trigger_listing.c.aggregate_id == aggregate_id)))
        return found[0] if found else None

    def replay_listing(self) -> int:
        """Rebuild the listing from every Trigger event in the log, in log order."""
        rows: dict = {}
        applied, position, start = 0, 0, 1
        with self.recorder.transaction(commit=True) as session:
            self._lock_position(session)
            while True:
                page = self.recorder.select_notifications(start, 500, topics=TRIGGER_TOPICS)
                for notification in page:
                    event = self.journal.mapper.to_domain_event(notification)
                    key = str(event.originator_id)
                    rows[key] = project(rows.get(key), event, notification.id)
                    position = notification.id
                    applied += 1
                if len(page) < 500:
                    break
                start = page[-1].id + 1
            session.execute(delete(trigger_listing))
            session.execute(delete(trigger_counts))
            if rows:
                session.execute(insert(trigger_listing), [_listing_values(k, r) for k, r in rows.items()])
            counts = _counted(rows.values())
            if counts:
                session.execute(insert(trigger_counts), [
                    {"tenant_id": t, "status": s, "event_type": e, "triggers": n} for (t, s, e), n in counts.items()])
            session.execute(update(projection_position).where(projection_position.c.name == LISTING)
                            .values(position=position))
        return applied

    # -- listing queries ----------------------------------------------------------------

    def listing_page(self, tenant_id, status, event_type, limit, offset):
        where = [*_filters(trigger_listing, tenant_id, status, event_type), trigger_listing.c.deleted.is_(False)]
        order = (trigger_listing.c.priority.desc(), trigger_listing.c.created_at_us, trigger_listing.c.trigger_id)
        total = (select(func.coalesce(func.sum(trigger_counts.c.triggers), 0))
                 .where(*_filters(trigger_counts, tenant_id, status, event_type)).scalar_subquery())
        # One statement is one snapshot, so a read needs no transaction around it: each page costs
        # one round trip (the total rides along as a column), not BEGIN, two queries and ROLLBACK.
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if offset < DEEP_OFFSET:
                rows = _listing_rows(connection.execute(
                    select(trigger_listing, total.label("total")).where(*where).order_by(*order)
                    .limit(limit).offset(offset)))
                totals = [row.pop("total") for row in rows]
            else:  # skip the deep offset on the index alone, then read just the page's rows
                keys = connection.execute(select(trigger_listing.c.trigger_id, total.label("total")).where(*where)
                                          .order_by(*order).limit(limit).offset(offset)).all()
                found = {r["trigger_id"]: r for r in _listing_rows(connection.execute(
                    select(trigger_listing).where(
                        trigger_listing.c.tenant_id == tenant_id,
                        trigger_listing.c.trigger_id.in_([k for k, _ in keys]))))} if keys else {}
                rows = [found[k] for k, _ in keys if k in found]
                totals = [t for _, t in keys]
            count = totals[0] if totals else connection.execute(select(total)).scalar()
        return rows, int(count)

    def listing_changes(self, after_position):
        with self.recorder.transaction(commit=False) as session:
            position = self._position(session)
            found = session.execute(select(trigger_listing)
                                    .where(trigger_listing.c.position > after_position)
                                    .order_by(trigger_listing.c.position))
            rows = _listing_rows(found)
        return rows, max([position, *(r["position"] for r in rows)])

    def listing_position(self) -> int:
        with self.recorder.transaction(commit=False) as session:
            return self._position(session)

    def _position(self, session) -> int:
        return session.execute(select(projection_position.c.position)
                               .where(projection_position.c.name == LISTING)).scalar() or 0

    # -- outbox -------------------------------------------------------------------------

    def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[OutboxMessage]:
        due = select(outbox.c.id).where(outbox.c.due_at_ms <= now_ms).order_by(outbox.c.due_at_ms).limit(limit)
        if self.is_postgres:
            due = due.with_for_update(skip_locked=True)
        claim = (update(outbox)
                 .where(outbox.c.due_at_ms <= now_ms, outbox.c.id.in_(due.scalar_subquery()))
                 .values(due_at_ms=now_ms + lease_ms, attempts=outbox.c.attempts + 1)
                 .returning(*outbox.c))
        with self.recorder.transaction(commit=True) as session:
            return [_message(r) for r in session.execute(claim).mappings()]

    def reschedule(self, message_id: str, due_at_ms: int, attempts: int) -> None:
        with self.recorder.transaction(commit=True) as session:
            session.execute(update(outbox).where(outbox.c.id == message_id)
                            .values(due_at_ms=due_at_ms, attempts=attempts))

    def outbox_stats(self, now_ms: int) -> tuple[int, int]:
        with self.recorder.transaction(commit=False) as session:
            waiting, oldest = session.execute(select(func.count(), func.min(outbox.c.due_at_ms))).one()
        return waiting, max(0, now_ms - oldest) if oldest is not None and oldest <= now_ms else 0

    def ping(self) -> None:
        with self.recorder.transaction(commit=False) as session:
            session.execute(text("SELECT 1"))

    async def close_async(self) -> None:
        """Closes the writer's connection; the journal's pool closes with the journal."""
        if self.writer is not None:
            await self.writer.close()


def _row(message: OutboxMessage) -> dict:
    return {"id": message.id, "kind": message.kind, "tenant_id": message.tenant_id,
            "subject": message.subject, "body": message.body, "target": message.target,
            "due_at_ms": message.due_at_ms, "attempts": message.attempts}


def _message(row) -> OutboxMessage:
    return OutboxMessage(id=row["id"], kind=row["kind"], tenant_id=row["tenant_id"], subject=row["subject"],
                         body=row["body"], due_at_ms=row["due_at_ms"], target=row["target"],
                         attempts=row["attempts"])


def _micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _moment(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)


def _listing_values(aggregate_id: str, row: dict) -> dict:
    values = {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
    return {**values, "aggregate_id": aggregate_id,
            "created_at_us": _micros(row["created_at"]), "updated_at_us": _micros(row["updated_at"])}


def _filters(table, tenant_id: str, status: str | None, event_type: str | None) -> list:
    """A listing query's filters, on the listing itself or on its counts."""
    where = [table.c.tenant_id == tenant_id]
    if status:
        where.append(table.c.status == status)
    if event_type:
        where.append(table.c.event_type == event_type)
    return where


def _counted(rows) -> Counter:
    """Listed (not deleted) triggers per (tenant, status, event type)."""
    return Counter((r["tenant_id"], r["status"], r["event_type"]) for r in rows if r and not r["deleted"])


def _listing_rows(result) -> list[dict]:
    names = list(result.keys())
    # all() fetches the page in one call; iterating the result fetches and converts row by row.
    return [_listing_dict(dict(zip(names, values))) for values in result.all()]


def _listing_dict(found: dict) -> dict:
    """A listing row as the application sees it; `found` is a fresh dict of the row's columns."""
    del found["aggregate_id"]
    found["created_at"] = _moment(found.pop("created_at_us"))
    found["updated_at"] = _moment(found.pop("updated_at_us"))
    return found
