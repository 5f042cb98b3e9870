"""Tenant settings (frequency caps, event schemas): a projection applied in the transaction that records them."""

from datetime import datetime, timezone

from sqlalchemy import delete, insert, select

from application.settings_listing import SETTINGS_EVENTS, SETTINGS_TOPICS, project
from infrastructure.sql.database import Database
from infrastructure.sql.positions import lock_position, position_of, set_position
from infrastructure.sql.tables import tenant_settings

SETTINGS = "tenant_settings"
KEY = ("tenant_id", "kind", "name")


class SqlTenantSettings:
    events = SETTINGS_EVENTS  # what it projects (infrastructure.sql.units.Projection)

    def __init__(self, database: Database):
        self.database = database

    def apply(self, session, changes: list) -> None:
        lock_position(session, SETTINGS)
        set_position(session, SETTINGS, max(p for _, p in changes), self.database)
        rows: dict = {}
        for event, position in changes:
            key = str(event.originator_id)
            before = rows.get(key) or self._row_of(session, key)
            rows[key] = {**project(before, event, position), "aggregate_id": key}
        for row in rows.values():
            session.execute(delete(tenant_settings).where(*(getattr(tenant_settings.c, k) == row[k] for k in KEY)))
            session.execute(insert(tenant_settings), [_values(row)])

    def _row_of(self, session, aggregate_id: str) -> dict | None:
        """The row an event changes, by its aggregate: later events name no tenant or type."""
        found = session.execute(select(tenant_settings).where(tenant_settings.c.aggregate_id == aggregate_id)).first()
        return _row(found) if found else None

    def find(self, tenant_id: str, kind: str, name: str) -> dict | None:
        c = tenant_settings.c
        with self.database.reading() as connection:
            found = connection.execute(select(tenant_settings).where(c.tenant_id == tenant_id, c.kind == kind,
                                                                     c.name == name)).first()
        return _row(found) if found else None

    def of_tenant(self, tenant_id: str, kind: str) -> list[dict]:
        c = tenant_settings.c
        with self.database.reading() as connection:
            return [_row(r) for r in connection.execute(
                select(tenant_settings).where(c.tenant_id == tenant_id, c.kind == kind).order_by(c.name))]

    def changes(self, after_position: int) -> tuple[list[dict], int]:
        with self.database.reading() as connection:
            position = position_of(connection, SETTINGS)
            rows = [_row(r) for r in connection.execute(select(tenant_settings).where(
                tenant_settings.c.position > after_position).order_by(tenant_settings.c.position))]
        return rows, max([position, *(r["position"] for r in rows)])

    def position(self) -> int:
        with self.database.reading() as connection:
            return position_of(connection, SETTINGS)

    def replay(self) -> int:
        rows, applied, start = {}, 0, 1
        recorder = self.database.recorder
        with self.database.transaction() as session:
            lock_position(session, SETTINGS)
            while page := recorder.select_notifications(start, 500, topics=SETTINGS_TOPICS):
                for notification in page:
                    event = self.database.journal.mapper.to_domain_event(notification)
                    key = str(event.originator_id)
                    rows[key] = {**project(rows.get(key), event, notification.id), "aggregate_id": key}
                    applied += 1
                start = page[-1].id + 1
            session.execute(delete(tenant_settings))
            if rows:
                session.execute(insert(tenant_settings), [_values(r) for r in rows.values()])
            set_position(session, SETTINGS, max((r["position"] for r in rows.values()), default=0))
        return applied


def _values(row: dict) -> dict:
    return {**{k: v for k, v in row.items() if k != "updated_at"},
            "updated_at_us": int(row["updated_at"].timestamp() * 1_000_000)}


def _row(found) -> dict:
    row = dict(found._mapping)
    row["updated_at"] = datetime.fromtimestamp(row.pop("updated_at_us") / 1_000_000, tz=timezone.utc)
    return row
