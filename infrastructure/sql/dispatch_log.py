"""The dispatch records: the log's pages, claims for a delivery, settled attempts, resends and counts.

A claim is a lease: a token and a time written in one conditional UPDATE, so of two relays, or a
relay and a resend, in this process or another, exactly one takes a dispatch, and only the holder
of the token records the attempt it made.
"""

import secrets
from typing import Sequence

from sqlalchemy import and_, or_, select, tuple_, update

from application.records import DispatchFilter, DispatchRecord, TriggerStats
from domain.dispatch import RETRYING, UNSETTLED, Attempt, DispatchState
from infrastructure.sql.database import Database
from infrastructure.sql.stats import Tally, read_stats
from infrastructure.sql.tables import dispatches, dispatches_of
from infrastructure.sql.units import dispatch_row


class SqlDispatchLog:
    def __init__(self, database: Database):
        self.database = database

    def get(self, tenant_id: str, dispatch_id: str) -> DispatchRecord | None:
        with self.database.reading() as connection:
            row = connection.execute(select(dispatches).where(dispatches.c.id == dispatch_id,
                                                              dispatches.c.tenant_id == tenant_id)).first()
        return _record(row) if row is not None else None

    def page(self, tenant_id: str, where: DispatchFilter, after: tuple | None, limit: int) -> list[DispatchRecord]:
        c = dispatches.c
        conditions = [c.tenant_id == tenant_id]
        for column, value in ((c.status, where.status), (c.trigger_id, where.trigger_id),
                              (c.customer_id, where.customer_id), (c.action_type, where.action_type)):
            if value is not None:
                conditions.append(column == value)
        if where.event_id is not None:
            conditions.append(dispatches_of(where.event_id))
        if where.since_ms is not None:
            conditions.append(c.created_at_ms >= where.since_ms)
        if where.until_ms is not None:
            conditions.append(c.created_at_ms < where.until_ms)
        if after is not None:
            conditions.append(tuple_(c.created_at_ms, c.id) < tuple_(*after))
        with self.database.reading() as connection:
            rows = connection.execute(select(dispatches).where(*conditions)
                                      .order_by(c.created_at_ms.desc(), c.id.desc()).limit(limit))
            return [_record(row) for row in rows]

    def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        return self.database.look_up(dispatches.c.id, dispatches.c.status, ids)

    def recover(self, records: Sequence[DispatchRecord]) -> None:
        with self.database.transaction() as session:
            session.execute(self.database.upsert(dispatches).on_conflict_do_nothing(),
                            [dispatch_row(record) for record in records])

    def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[DispatchRecord]:
        c = dispatches.c
        due = (select(c.id).where(c.status.in_(UNSETTLED), c.next_attempt_at_ms <= now_ms, _unclaimed(now_ms))
               .order_by(c.next_attempt_at_ms).limit(limit))
        if self.database.is_postgres:
            due = due.with_for_update(skip_locked=True)
        return self._claim(c.id.in_(due.scalar_subquery()), now_ms, lease_ms)

    def claim(self, tenant_id: str, dispatch_id: str, statuses: Sequence[str], now_ms: int,
              lease_ms: int) -> DispatchRecord | None:
        c = dispatches.c
        claimed = self._claim(and_(c.id == dispatch_id, c.tenant_id == tenant_id, c.status.in_(list(statuses))),
                              now_ms, lease_ms)
        return claimed[0] if claimed else None

    def _claim(self, which, now_ms: int, lease_ms: int) -> list[DispatchRecord]:
        token = secrets.token_hex(8)
        claim = (update(dispatches).where(which, _unclaimed(now_ms))
                 .values(claimed_until_ms=now_ms + lease_ms, claim=token).returning(*dispatches.c))
        with self.database.transaction() as session:
            return [_record(row) for row in session.execute(claim)]

    def settle(self, record: DispatchRecord, attempt: Attempt, state: DispatchState) -> bool:
        c = dispatches.c
        tally = Tally()
        with self.database.transaction() as session:
            changed = session.execute(
                update(dispatches).where(c.id == record.id, c.claim == record.claim)
                .values(status=state.status, attempts=[*record.attempts, attempt.as_dict()],
                        last_error=state.last_error, next_attempt_at_ms=state.next_attempt_at_ms,
                        delivered_at_ms=state.delivered_at_ms, claimed_until_ms=None, claim=None)).rowcount
            if changed:
                tally.status(record.tenant_id, record.trigger_id, record.state.status, state.status)
                tally.write(session, self.database)
        return bool(changed)

    def resend(self, tenant_id: str, status: str, trigger_id: str | None, since_ms: int | None,
               until_ms: int | None, now_ms: int, dispatch_id: str | None = None) -> int:
        c = dispatches.c
        conditions = [c.tenant_id == tenant_id, c.status == status, _unclaimed(now_ms)]
        if dispatch_id is not None:
            conditions.append(c.id == dispatch_id)
        if trigger_id is not None:
            conditions.append(c.trigger_id == trigger_id)
        if since_ms is not None:
            conditions.append(c.created_at_ms >= since_ms)
        if until_ms is not None:
            conditions.append(c.created_at_ms < until_ms)
        tally = Tally()
        with self.database.transaction() as session:
            # A dead dispatch becomes retrying: its next attempt either delivers it or, with its schedule
            # spent, declares it dead again.
            moved = session.execute(update(dispatches).where(*conditions)
                                    .values(status=RETRYING, next_attempt_at_ms=now_ms)
                                    .returning(c.trigger_id)).scalars().all()
            for moved_trigger in moved:
                tally.status(tenant_id, moved_trigger, status, RETRYING)
            tally.write(session, self.database)
        return len(moved)

    def stats(self, tenant_id: str, trigger_ids: Sequence[str]) -> dict[str, TriggerStats]:
        with self.database.reading() as connection:
            return read_stats(connection, tenant_id, trigger_ids)


def _unclaimed(now_ms: int):
    return or_(dispatches.c.claimed_until_ms.is_(None), dispatches.c.claimed_until_ms < now_ms)


def _record(row) -> DispatchRecord:
    state = DispatchState(row.status, row.next_attempt_at_ms, row.last_error, row.delivered_at_ms)
    return DispatchRecord(row.id, row.tenant_id, row.trigger_id, row.trigger_version, row.event_id, row.customer_id,
                          row.action_type, row.target, state, tuple(row.attempts), row.created_at_ms, row.claim)
