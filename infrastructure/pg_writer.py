"""PostgreSQL's ingest write path: a batch of events and outbox changes in one round trip.

Every ingest writes a few rows. Through SQLAlchemy's session each statement and each row cost
more Python than PostgreSQL spends storing them, and the commit thread competes with the event
loop for the one core a process gets. Here a batch goes down as array parameters, one INSERT per
table whatever the batch's size, pipelined with the table lock and the commit.

The events are eventsourcing's stored events (the journal's mapper makes them), written to its
table under the same EXCLUSIVE lock its recorder takes, so notification ids still commit in
order and the journal reads them back as its own.
"""

from typing import Sequence

import orjson
import psycopg
from eventsourcing.persistence import IntegrityError, Mapper, OperationalError, StoredEvent
from sqlalchemy import Engine

from application.ports import OutboxMessage, UnitOfWork


class PostgresWriter:
    def __init__(self, engine: Engine, mapper: Mapper, events_table: str, outbox_table: str):
        self.engine = engine
        self.mapper = mapper
        self.lock = f"LOCK TABLE {events_table} IN EXCLUSIVE MODE"
        # A clash skips its row instead of aborting the transaction: the rows that went in tell
        # which units clashed, and only theirs are taken out again.
        self.insert_events = (f"INSERT INTO {events_table} (originator_id, originator_version, topic, state) "
                              f"SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
                              f"ON CONFLICT (originator_id, originator_version) DO NOTHING "
                              f"RETURNING originator_id, originator_version")
        self.delete_events = (f"DELETE FROM {events_table} WHERE (originator_id, originator_version) IN "
                              f"(SELECT * FROM unnest(%b::uuid[], %b::bigint[]))")
        self.insert_outbox = (
            f"INSERT INTO {outbox_table} (id, kind, tenant_id, subject, body, target, due_at_ms, attempts) "
            f"SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::json[], %b::json[], "
            f"%b::bigint[], %b::int[])")
        self.delete_outbox = f"DELETE FROM {outbox_table} WHERE id = ANY(%b::text[])"

    def write(self, units: Sequence[UnitOfWork]) -> list[int]:
        """Record the units in one transaction; returns the indices of those refused for a clash."""
        stored = [[self.mapper.to_stored_event(e) for e in unit.events] for unit in units]
        refused = _clashing_within(stored)
        pooled = None
        try:
            pooled = self.engine.raw_connection()
            connection: psycopg.Connection = pooled.driver_connection
            with connection.pipeline(), connection.transaction():
                events = [e for n, unit in enumerate(stored) if n not in refused for e in unit]
                if events:
                    connection.execute(self.lock)
                    written = set(connection.execute(self.insert_events, _event_columns(events)).fetchall())
                    clashed = {n for n, unit in enumerate(stored) if n not in refused
                               and any((e.originator_id, e.originator_version) not in written for e in unit)}
                    if clashed:
                        taken_back = [e for n in clashed for e in stored[n]
                                      if (e.originator_id, e.originator_version) in written]
                        if taken_back:
                            connection.execute(self.delete_events, _event_columns(taken_back)[:2])
                        refused |= clashed
                kept = [unit for n, unit in enumerate(units) if n not in refused]
                added = [m for unit in kept for m in unit.outbox_added]
                done = [i for unit in kept for i in unit.outbox_done]
                if added:
                    connection.execute(self.insert_outbox, _outbox_columns(added))
                if done:
                    connection.execute(self.delete_outbox, (done,))
        except psycopg.IntegrityError as error:  # a constraint other than the version clash
            raise IntegrityError(error) from error
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:
            if pooled is not None:
                pooled.invalidate()  # the connection may be gone: the pool must not hand it out again
            raise OperationalError(error) from error
        finally:
            if pooled is not None:
                pooled.close()  # back to the pool
        return sorted(refused)


def _clashing_within(stored: list[list[StoredEvent]]) -> set[int]:
    """Units that would record an aggregate version an earlier unit of the batch records too."""
    seen, clashing = set(), set()
    for n, unit in enumerate(stored):
        keys = {(e.originator_id, e.originator_version) for e in unit}
        if keys & seen:
            clashing.add(n)
        else:
            seen |= keys
    return clashing


def _event_columns(events: Sequence[StoredEvent]) -> tuple[list, ...]:
    return ([e.originator_id for e in events], [e.originator_version for e in events],
            [e.topic for e in events], [e.state for e in events])


def _outbox_columns(messages: Sequence[OutboxMessage]) -> tuple[list, ...]:
    return ([m.id for m in messages], [m.kind for m in messages], [m.tenant_id for m in messages],
            [m.subject for m in messages], [orjson.dumps(m.body).decode() for m in messages],
            [None if m.target is None else orjson.dumps(m.target).decode() for m in messages],
            [m.due_at_ms for m in messages], [m.attempts for m in messages])
