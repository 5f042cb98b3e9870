"""PostgreSQL's ingest write path: a whole batch of units in one round trip.

Every ingest writes a few rows, and on this kind of machine each round trip to PostgreSQL costs
the client about 70 µs of CPU, as much as the rows themselves cost through SQLAlchemy's session.
So a batch goes down as ONE simple-query string: BEGIN, the event table's lock, one statement
that writes everything, COMMIT. Each table's rows travel as a JSON document (orjson writes it in
C) that json_to_recordset expands, whatever the batch's size.

Under the lock nothing else can write the event table, so the statement can tell exactly which
units would record an aggregate version that already exists (a cooldown another process fired
first, a replayed event): it writes every other unit and names those, which the caller refuses.

The events are eventsourcing's stored events (the journal's mapper makes them), written to its
table under the same EXCLUSIVE lock its recorder takes, so notification ids still commit in
order and the journal reads them back as its own.
"""

from typing import Sequence

import orjson
import psycopg
from eventsourcing.persistence import IntegrityError, Mapper, OperationalError, StoredEvent

from application.ports import OutboxMessage, UnitOfWork

BATCH = """
WITH e AS (SELECT * FROM json_to_recordset(%(events)s::json)
           AS e(unit int, originator_id uuid, originator_version bigint, topic text, state text)),
clashed AS (SELECT DISTINCT e.unit FROM e, LATERAL (  -- LIMIT keeps it one index probe per row
              SELECT 1 FROM {events} t WHERE t.originator_id = e.originator_id
              AND t.originator_version = e.originator_version LIMIT 1) found),
recorded AS (INSERT INTO {events} (originator_id, originator_version, topic, state)
             SELECT originator_id, originator_version, topic, decode(state, 'hex') FROM e
             WHERE unit NOT IN (SELECT unit FROM clashed)),
added AS (INSERT INTO {outbox} (id, kind, tenant_id, subject, body, target, due_at_ms, attempts)
          SELECT id, kind, tenant_id, subject, body::json, target::json, due_at_ms, attempts
          FROM json_to_recordset(%(added)s::json) AS m(unit int, id text, kind text, tenant_id text,
               subject text, body text, target text, due_at_ms bigint, attempts int)
          WHERE unit NOT IN (SELECT unit FROM clashed)),
settled AS (DELETE FROM {outbox} WHERE id = ANY(ARRAY(  -- an array: probes by key, never a scan
            SELECT id FROM json_to_recordset(%(done)s::json) AS d(unit int, id text)
            WHERE unit NOT IN (SELECT unit FROM clashed))))
SELECT unit FROM clashed"""


class PostgresWriter:
    """Writes on a connection of its own, in the event loop: a batch costs the loop one round
    trip's waiting and no thread hand-off, pool checkout or contention for the GIL (in a worker
    thread the same batches cost about 15 % of ingest throughput). The group commit sends one
    batch at a time, so one connection serves; it is opened on first use and replaced after any
    failure, which may have left it mid-transaction."""

    def __init__(self, url: str, mapper: Mapper, events_table: str, outbox_table: str):
        self.url = url
        self.mapper = mapper
        statement = BATCH.format(events=events_table, outbox=outbox_table)
        self.with_events = f"BEGIN; LOCK TABLE {events_table} IN EXCLUSIVE MODE; {statement}; COMMIT"
        self.outbox_only = f"BEGIN; {statement}; COMMIT"  # settling the outbox needs no lock
        self._connection: psycopg.AsyncConnection | None = None

    async def write(self, units: Sequence[UnitOfWork]) -> list[int]:
        """Record the units in one transaction; returns the indices of those refused for a clash."""
        stored = [[self.mapper.to_stored_event(e) for e in unit.events] for unit in units]
        refused = _clashing_within(stored)
        kept = [n for n in range(len(units)) if n not in refused]
        documents = {
            "events": _json([_event_row(n, e) for n in kept for e in stored[n]]),
            "added": _json([_outbox_row(n, m) for n in kept for m in units[n].outbox_added]),
            "done": _json([{"unit": n, "id": i} for n in kept for i in units[n].outbox_done]),
        }
        query = self.with_events if any(stored[n] for n in kept) else self.outbox_only
        try:
            if self._connection is None:
                self._connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True,
                                                                         connect_timeout=5)
            cursor = psycopg.AsyncClientCursor(self._connection)  # the string carries its own BEGIN and COMMIT
            await cursor.execute(query, documents)
            while cursor.description is None:  # BEGIN and LOCK come first
                cursor.nextset()
            refused.update(unit for (unit,) in await cursor.fetchall())
        except psycopg.Error as error:
            await self.close()
            failure = IntegrityError if isinstance(error, psycopg.IntegrityError) else OperationalError
            raise failure(_primary_message(error)) from None
        return sorted(refused)

    async def close(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()


def _primary_message(error: psycopg.Error) -> str:
    """The server's one-line message: its DETAIL and CONTEXT can quote the batch's documents,
    customer data and webhook secrets included, and this message ends up in the logs."""
    return error.diag.message_primary or str(error).partition("\n")[0]


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


def _event_row(unit: int, event: StoredEvent) -> dict:
    return {"unit": unit, "originator_id": event.originator_id, "originator_version": event.originator_version,
            "topic": event.topic, "state": event.state.hex()}


def _outbox_row(unit: int, m: OutboxMessage) -> dict:
    # Bodies travel as JSON text inside the document: json_to_recordset unescapes every string it
    # expands, and customer data may hold \u0000, which PostgreSQL text cannot; as text of text,
    # the escape survives and the json column keeps it.
    return {"unit": unit, "id": m.id, "kind": m.kind, "tenant_id": m.tenant_id, "subject": m.subject,
            "body": _json(m.body), "target": None if m.target is None else _json(m.target),
            "due_at_ms": m.due_at_ms, "attempts": m.attempts}


def _json(rows: list) -> str:
    return orjson.dumps(rows).decode()
