"""Idempotency keys and batch message ids: taken with their event (infrastructure.sql.units), read and purged here."""

from sqlalchemy import delete, select

from domain.idempotency import KeyClaim, KeyRecord
from infrastructure.sql.database import Database
from infrastructure.sql.tables import idempotency


class SqlIdempotency:
    def __init__(self, database: Database):
        self.database = database

    def find(self, tenant_id: str, scope: str, key: str) -> KeyRecord | None:
        c = idempotency.c
        with self.database.reading() as connection:
            row = connection.execute(select(idempotency).where(c.tenant_id == tenant_id, c.scope == scope,
                                                               c.key == key)).first()
        if row is None:
            return None
        return KeyRecord(KeyClaim(row.tenant_id, row.scope, row.key, row.fingerprint, row.event_id,
                                  row.created_at_ms, row.lease_until_ms), row.response)

    def purge(self, created_before_ms: int) -> int:
        with self.database.transaction() as session:
            return session.execute(delete(idempotency).where(idempotency.c.created_at_ms < created_before_ms)).rowcount
