"""The trigger listing: a projection of Trigger events, applied in the transaction that records them.

`tripcord replay projections` rebuilds it from the event store and gives the same answer.
"""

from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import delete, func, insert, select, update

from application.trigger_listing import TRIGGER_TOPICS, project
from domain.trigger import Trigger
from infrastructure.sql.database import Database
from infrastructure.sql.positions import lock_position, position_of, set_position
from infrastructure.sql.tables import trigger_counts, trigger_listing

LISTING = "trigger_listing"
DEEP_OFFSET = 1000
TRIGGER_EVENTS = (Trigger.Created, Trigger.Updated, Trigger.Paused, Trigger.Activated, Trigger.Deleted)


class SqlTriggerListing:
    events = TRIGGER_EVENTS  # what it projects (infrastructure.sql.units.Projection)

    def __init__(self, database: Database):
        self.database = database
        self.journal = database.journal

    def apply(self, session, changes: list) -> None:
        """Projects (event, notification id) pairs of Trigger events, in the transaction recording them."""
        if changes:
            self._project(session, changes)

    def _project(self, session, changes: list) -> None:
        # Taking the position row first orders us against a concurrent replay.
        lock_position(session, LISTING)
        set_position(session, LISTING, max(p for _, p in changes), self.database)
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

    def _listing_row(self, session, aggregate_id: str) -> dict | None:
        found = _listing_rows(session.execute(select(trigger_listing)
                                              .where(trigger_listing.c.aggregate_id == aggregate_id)))
        return found[0] if found else None

    def replay_listing(self) -> int:
        """Rebuild the listing from every Trigger event in the log, in log order."""
        rows: dict = {}
        applied, position, start = 0, 0, 1
        recorder = self.database.recorder
        with self.database.transaction() as session:
            lock_position(session, LISTING)
            while True:
                page = recorder.select_notifications(start, 500, topics=TRIGGER_TOPICS)
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
            set_position(session, LISTING, position)
        return applied

    # -- listing queries ----------------------------------------------------------------

    def listing_page(self, tenant_id, status, event_type, limit, offset):
        where = [*_filters(trigger_listing, tenant_id, status, event_type), trigger_listing.c.deleted.is_(False)]
        order = (trigger_listing.c.priority.desc(), trigger_listing.c.created_at_us, trigger_listing.c.trigger_id)
        total = (select(func.coalesce(func.sum(trigger_counts.c.triggers), 0))
                 .where(*_filters(trigger_counts, tenant_id, status, event_type)).scalar_subquery())
        # One statement is one snapshot, so a read needs no transaction around it: each page costs
        # one round trip (the total rides along as a column), not BEGIN, two queries and ROLLBACK.
        with self.database.reading() as connection:
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
        with self.database.reading() as session:
            position = position_of(session, LISTING)
            found = session.execute(select(trigger_listing)
                                    .where(trigger_listing.c.position > after_position)
                                    .order_by(trigger_listing.c.position))
            rows = _listing_rows(found)
        return rows, max([position, *(r["position"] for r in rows)])

    def listing_position(self) -> int:
        with self.database.reading() as connection:
            return position_of(connection, LISTING)

    def active_count(self, tenant_id: str) -> int:
        with self.database.reading() as connection:
            return connection.execute(select(func.coalesce(func.sum(trigger_counts.c.triggers), 0)).where(
                trigger_counts.c.tenant_id == tenant_id, trigger_counts.c.status == "active")).scalar()

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
