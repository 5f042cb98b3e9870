"""Committing units of work: aggregates' events, event log rows, keys, acknowledgements and dispatches.

`record` is the general path, through the event store's session, on both databases; it applies
the read-model projections in the same transaction. On PostgreSQL, units that change no read
model (every ingest unit) take the one-round-trip writer instead (infrastructure.sql.pg_writer).
"""

from typing import Sequence

from eventsourcing.persistence import IntegrityError
from sqlalchemy import and_, delete, insert, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from application.ports import Blocking
from application.records import DispatchRecord, LoggedEvent, UnitOfWork
from domain.idempotency import KEY_LIFETIME_MS, KeyClaim
from infrastructure.sql.database import Database
from infrastructure.sql.pg_writer import PostgresWriter
from infrastructure.sql.stats import Tally
from infrastructure.sql.tables import dispatches, event_log, idempotency, stream_acks


class Projection:
    """A read model kept in the transaction that records the events it follows."""

    events: tuple  # the event classes it projects

    def apply(self, session, changes: list) -> None:
        """`changes` are (domain event, notification id) pairs, in log order."""


class UnitRecorder:
    def __init__(self, database: Database, projections: Sequence[Projection], blocking: Blocking):
        self.database = database
        self.projections = projections
        self.projected = tuple(cls for p in projections for cls in p.events)
        self.blocking = blocking
        self.writer = PostgresWriter(database) if database.is_postgres else None

    async def __call__(self, units: Sequence[UnitOfWork]) -> Sequence[int]:
        """The Recorder port: refused units' indices (the PostgreSQL writer names them), or
        IntegrityError for the whole batch (the general path cannot tell which clashed)."""
        if self.writer is not None and not any(isinstance(e, self.projected) for u in units for e in u.events):
            return await self.writer.write(units)
        return await self.blocking(self.record, units)

    def record(self, units: Sequence[UnitOfWork]) -> Sequence[int]:
        events = [e for unit in units for e in unit.events]
        logged = [e for unit in units for e in unit.logged]
        tally = Tally()
        try:
            with self.database.transaction() as session:
                if logged:
                    self.database.lock_event_log(session)
                recordings = self.database.journal.save(*events) if events else []
                for projection in self.projections:
                    changes = [(r.domain_event, r.notification.id) for r in recordings
                               if isinstance(r.domain_event, projection.events)]
                    if changes:
                        projection.apply(session, changes)
                for claim in (c for unit in units for c in unit.claims):
                    self._claim(session, claim)
                if logged:
                    session.execute(insert(event_log), [log_row(e) for e in logged])
                    for event in logged:
                        tally.outcomes(event)
                acks = [{"event_id": a.event_id, "sequence": a.sequence} for unit in units for a in unit.acks]
                if acks:
                    session.execute(self.database.upsert(stream_acks).on_conflict_do_nothing(), acks)
                for record in (d for unit in units for d in unit.dispatches):
                    self._first_outcome(session, record, tally)
                for answer in (a for unit in units for a in unit.answers):
                    session.execute(update(idempotency).where(
                        idempotency.c.tenant_id == answer.tenant_id, idempotency.c.scope == answer.scope,
                        idempotency.c.key == answer.key).values(response=answer.response))
                tally.write(session, self.database)
        except SqlIntegrityError:
            raise IntegrityError("a key or a version was recorded meanwhile") from None
        return ()

    def _claim(self, session, claim: KeyClaim) -> None:
        """Takes a key: an expired record of it gives way; a live one refuses the unit (IntegrityError)."""
        same = and_(idempotency.c.tenant_id == claim.tenant_id, idempotency.c.scope == claim.scope,
                    idempotency.c.key == claim.key)
        session.execute(delete(idempotency).where(same, idempotency.c.created_at_ms <= claim.at_ms - KEY_LIFETIME_MS))
        session.execute(insert(idempotency), [claim_row(claim)])

    def _first_outcome(self, session, record: DispatchRecord, tally: Tally) -> None:
        """A first attempt's record; it replaces a pending one the relay recovered meanwhile and has not taken."""
        statement = self.database.upsert(dispatches).values(dispatch_row(record))
        changed = session.execute(statement.on_conflict_do_update(
            index_elements=[dispatches.c.id], set_=outcome_columns(statement.excluded),
            where=and_(dispatches.c.status == "pending", dispatches.c.claim.is_(None))).returning(dispatches.c.id))
        if changed.first() is not None:
            tally.status(record.tenant_id, record.trigger_id, None, record.state.status)

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()


def log_row(event: LoggedEvent) -> dict:
    return {"tenant_id": event.tenant_id, "event_id": event.event_id, "customer_id": event.customer_id,
            "type": event.type, "received_at_ms": event.received_at_ms, "body": event.body,
            "outcomes": [[o.trigger_id, o.trigger_version, o.action_type, o.outcome] for o in event.outcomes]}


def claim_row(claim: KeyClaim) -> dict:
    return {"tenant_id": claim.tenant_id, "scope": claim.scope, "key": claim.key, "fingerprint": claim.fingerprint,
            "event_id": claim.event_id, "created_at_ms": claim.at_ms, "lease_until_ms": claim.lease_until_ms,
            "response": None}


def dispatch_row(record: DispatchRecord) -> dict:
    state = record.state
    return {"id": record.id, "tenant_id": record.tenant_id, "trigger_id": record.trigger_id,
            "trigger_version": record.trigger_version, "event_id": record.event_id,
            "customer_id": record.customer_id, "action_type": record.action_type, "target": record.target,
            "status": state.status, "attempts": list(record.attempts), "last_error": state.last_error,
            "created_at_ms": record.created_at_ms, "next_attempt_at_ms": state.next_attempt_at_ms,
            "delivered_at_ms": state.delivered_at_ms, "claimed_until_ms": None, "claim": None}


def outcome_columns(source) -> dict:
    """What a settled attempt changes on a dispatch row, taken from `source` (a row or EXCLUDED)."""
    return {name: getattr(source, name) for name in
            ("target", "status", "attempts", "last_error", "next_attempt_at_ms", "delivered_at_ms")}
