"""PostgreSQL's ingest write path: a whole batch of units in one round trip.

Every ingest writes a few rows, and each round trip to PostgreSQL costs the client about 70 µs of
CPU here, as much as the rows themselves cost through SQLAlchemy's session. So a batch goes down
as ONE short statement, a call of a function of ours that takes the event table's lock and writes
everything. Each kind of row travels as one JSON document (orjson writes it in C) that
json_to_recordset expands, whatever the batch's size. In a function the big statement is planned
once per connection, not per batch (planning it cost PostgreSQL 1.5 ms, more than running it),
and the call itself is cheap to send and parse: a prepared statement whose documents are bound
by the server, so no one quotes them into the statement's text or parses them back out of it.

Under the lock nothing else writes the event store, the event log or a key, so the statement can
tell exactly which units would record an aggregate version that exists (a cooldown another
process fired first) or take a key that is live: it writes every other unit and names those, which
the caller refuses. Event log positions are drawn under the same lock, so they commit in order.
"""

from typing import Sequence

import orjson
import psycopg
from eventsourcing.persistence import IntegrityError, OperationalError

from application.records import UnitOfWork
from domain.customer_events import FIRED
from domain.idempotency import KEY_LIFETIME_MS
from infrastructure.sql.tables import dispatches, event_log, idempotency, stream_acks, trigger_stats

NOT_CLASHED = "unit NOT IN (SELECT unit FROM clashed)"
FUNCTION = "tripcord_record_batch"
BATCH = f"""
WITH e AS (SELECT * FROM json_to_recordset(p_events)
           AS e(unit int, originator_id uuid, originator_version bigint, topic text, state text)),
k AS (SELECT * FROM json_to_recordset(p_claims) AS k(unit int, tenant_id text, scope text, key text,
      fingerprint text, event_id text, created_at_ms bigint, lease_until_ms bigint)),
clashed AS (SELECT e.unit FROM e, LATERAL (  -- LIMIT keeps it one index probe per row
              SELECT 1 FROM {{events}} t WHERE t.originator_id = e.originator_id
              AND t.originator_version = e.originator_version LIMIT 1) found
            UNION SELECT k.unit FROM k, LATERAL (
              SELECT 1 FROM {idempotency.name} i WHERE i.tenant_id = k.tenant_id AND i.scope = k.scope
              AND i.key = k.key AND i.created_at_ms > k.created_at_ms - {KEY_LIFETIME_MS} LIMIT 1) found),
recorded AS (INSERT INTO {{events}} (originator_id, originator_version, topic, state)
             SELECT originator_id, originator_version, topic, decode(state, 'hex') FROM e WHERE {NOT_CLASHED}),
claimed AS (INSERT INTO {idempotency.name} (tenant_id, scope, key, fingerprint, event_id, created_at_ms,
                                            lease_until_ms)
            SELECT tenant_id, scope, key, fingerprint, event_id, created_at_ms, lease_until_ms FROM k
            WHERE {NOT_CLASHED}
            ON CONFLICT (tenant_id, scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
              event_id = EXCLUDED.event_id, created_at_ms = EXCLUDED.created_at_ms,
              lease_until_ms = EXCLUDED.lease_until_ms, response = NULL),
logged AS (INSERT INTO {event_log.name} (tenant_id, event_id, customer_id, type, received_at_ms, body, outcomes)
           SELECT tenant_id, event_id, customer_id, type, received_at_ms, body::json, outcomes::json
           FROM json_to_recordset(p_logged) AS l(unit int, n int, tenant_id text, event_id text,
                customer_id text, type text, received_at_ms bigint, body text, outcomes text)
           WHERE {NOT_CLASHED} ORDER BY n),
acked AS (INSERT INTO {stream_acks.name} (event_id, sequence)
          SELECT event_id, sequence FROM json_to_recordset(p_acks) AS a(event_id text, sequence bigint)
          ON CONFLICT DO NOTHING),
dispatched AS (INSERT INTO {dispatches.name} AS d (id, tenant_id, trigger_id, trigger_version, event_id,
                 customer_id, action_type, target, status, attempts, last_error, created_at_ms,
                 next_attempt_at_ms, delivered_at_ms)
               SELECT id, tenant_id, trigger_id, trigger_version, event_id, customer_id, action_type, target,
                 status, attempts::json, last_error, created_at_ms, next_attempt_at_ms, delivered_at_ms
               FROM json_to_recordset(p_dispatched) AS r(id text, tenant_id text, trigger_id text,
                 trigger_version int, event_id text, customer_id text, action_type text, target text,
                 status text, attempts text, last_error text, created_at_ms bigint, next_attempt_at_ms bigint,
                 delivered_at_ms bigint)
               ON CONFLICT (id) DO UPDATE SET target = EXCLUDED.target, status = EXCLUDED.status,
                 attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
                 next_attempt_at_ms = EXCLUDED.next_attempt_at_ms, delivered_at_ms = EXCLUDED.delivered_at_ms
               WHERE d.status = 'pending' AND d.claim IS NULL  -- a recovered record no relay has taken
               RETURNING tenant_id, trigger_id, status),
counted AS (INSERT INTO {trigger_stats.name} AS s (tenant_id, trigger_id, fired, cooldown, frequency_capped,
              delivered, retrying, dead, last_fired_at_ms)
            SELECT tenant_id, trigger_id, sum(fired), sum(cooldown), sum(frequency_capped), sum(delivered),
              sum(retrying), sum(dead), max(last_fired_at_ms)
            FROM (SELECT tenant_id, trigger_id, fired, cooldown, frequency_capped, 0 AS delivered, 0 AS retrying,
                    0 AS dead, last_fired_at_ms
                  FROM json_to_recordset(p_counts) AS c(unit int, tenant_id text, trigger_id text,
                    fired bigint, cooldown bigint, frequency_capped bigint, last_fired_at_ms bigint)
                  WHERE {NOT_CLASHED}
                  UNION ALL
                  SELECT tenant_id, trigger_id, 0, 0, 0, (status = 'delivered')::int, (status = 'retrying')::int,
                    (status = 'dead')::int, NULL FROM dispatched) changes
            GROUP BY tenant_id, trigger_id ORDER BY tenant_id, trigger_id  -- one lock order for every writer
            ON CONFLICT (tenant_id, trigger_id) DO UPDATE SET fired = s.fired + EXCLUDED.fired,
              cooldown = s.cooldown + EXCLUDED.cooldown,
              frequency_capped = s.frequency_capped + EXCLUDED.frequency_capped,
              delivered = s.delivered + EXCLUDED.delivered, retrying = s.retrying + EXCLUDED.retrying,
              dead = s.dead + EXCLUDED.dead,
              last_fired_at_ms = greatest(s.last_fired_at_ms, EXCLUDED.last_fired_at_ms)),
answered AS (UPDATE {idempotency.name} i SET response = a.response::json
             FROM json_to_recordset(p_answers) AS a(tenant_id text, scope text, key text, response text)
             WHERE i.tenant_id = a.tenant_id AND i.scope = a.scope AND i.key = a.key)
SELECT unit FROM clashed"""
INSTALL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(p_events json, p_claims json, p_logged json, p_counts json, p_acks json,
                                     p_dispatched json, p_answers json, p_locking boolean)
RETURNS SETOF int LANGUAGE plpgsql AS $body$
#variable_conflict use_column
BEGIN
  IF p_locking THEN
    LOCK TABLE {{events}} IN EXCLUSIVE MODE;
  END IF;
  RETURN QUERY {BATCH};
END
$body$"""
CALL = (f"SELECT * FROM {FUNCTION}(%(events)s::json, %(claims)s::json, %(logged)s::json, %(counts)s::json, "
        "%(acks)s::json, %(dispatched)s::json, %(answers)s::json, %(locking)s)")


def install(connection, events_table: str) -> None:
    """Creates or replaces the write function (SQLAlchemy connection; at start-up, under the schema lock)."""
    connection.exec_driver_sql(INSTALL.format(events=events_table).replace("%", "%%"))


class PostgresWriter:
    """Writes on a connection of its own, in the event loop: a batch costs the loop one round
    trip's waiting and no thread hand-off, pool checkout or contention for the GIL. The group
    commit sends one batch at a time, so one connection serves; it is opened on first use and
    replaced after any failure, which may have left it mid-transaction."""

    def __init__(self, database):
        # Connected as the engine's own connections are (host, credentials, options).
        _, self.connect_args = database.engine.dialect.create_connect_args(database.engine.url)
        self.connect_args.pop("context", None)  # SQLAlchemy's type adapters, not ours
        self.mapper = database.journal.mapper
        self.events_table = database.events_table
        self._connection: psycopg.AsyncConnection | None = None

    async def write(self, units: Sequence[UnitOfWork]) -> list[int]:
        """Record the units in one transaction; returns the indices of those refused for a clash."""
        stored = [[self.mapper.to_stored_event(e) for e in unit.events] for unit in units]
        refused = _clashing_within(units, stored)
        kept = [n for n in range(len(units)) if n not in refused]
        claimed = {(c.tenant_id, c.scope, c.key) for n in kept for c in units[n].claims}
        documents = {
            "events": _json([{"unit": n, "originator_id": e.originator_id, "originator_version": e.originator_version,
                              "topic": e.topic, "state": e.state.hex()} for n in kept for e in stored[n]]),
            "claims": _json([{"unit": n, "tenant_id": c.tenant_id, "scope": c.scope, "key": c.key,
                              "fingerprint": c.fingerprint, "event_id": c.event_id, "created_at_ms": c.at_ms,
                              "lease_until_ms": c.lease_until_ms} for n in kept for c in units[n].claims]),
            "logged": _json([_log_row(n, order, e) for order, (n, e) in
                             enumerate((n, e) for n in kept for e in units[n].logged)]),
            "counts": _json([row for n in kept for e in units[n].logged for row in _counts(n, e)]),
            "acks": _json([{"event_id": a.event_id, "sequence": a.sequence} for n in kept for a in units[n].acks]),
            "dispatched": _json([_dispatch_row(d) for n in kept for d in units[n].dispatches]),
            "answers": _json([{"tenant_id": a.tenant_id, "scope": a.scope, "key": a.key, "response": _json(a.response)}
                              for n in kept for a in units[n].answers
                              if (a.tenant_id, a.scope, a.key) not in claimed]),  # one change per row
        }
        # Acknowledgements, dispatch records and answers need no lock: only what draws a position or a version.
        documents["locking"] = any(stored[n] or units[n].logged or units[n].claims for n in kept)
        try:
            if self._connection is None:
                self._connection = await psycopg.AsyncConnection.connect(**self.connect_args, autocommit=True,
                                                                         connect_timeout=5)
            # One statement, one implicit transaction. Bound by the server, PostgreSQL spent 6-9 % less
            # per event than on the same call with its documents quoted in (docs/PERFORMANCE.md).
            cursor = await self._connection.execute(CALL, documents, prepare=True)
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


def _clashing_within(units: Sequence[UnitOfWork], stored: list) -> set[int]:
    """Units that would record an aggregate version, or take a key, that an earlier unit of the batch does."""
    seen, clashing = set(), set()
    for n, unit in enumerate(units):
        keys = {(e.originator_id, e.originator_version) for e in stored[n]}
        keys |= {(c.tenant_id, c.scope, c.key) for c in unit.claims}
        if keys & seen:
            clashing.add(n)
        else:
            seen |= keys
    return clashing


def _log_row(unit: int, order: int, event) -> dict:
    # Bodies travel as JSON text inside the document: json_to_recordset unescapes every string it
    # expands, and customer data may hold \u0000, which PostgreSQL text cannot; as text of text,
    # the escape survives and the json column keeps it.
    return {"unit": unit, "n": order, "tenant_id": event.tenant_id, "event_id": event.event_id,
            "customer_id": event.customer_id, "type": event.type, "received_at_ms": event.received_at_ms,
            "body": _json(event.body),
            "outcomes": _json([[o.trigger_id, o.trigger_version, o.action_type, o.outcome] for o in event.outcomes])}


def _counts(unit: int, event) -> list[dict]:
    rows = {}
    for outcome in event.decided():
        row = rows.setdefault(outcome.trigger_id, {"unit": unit, "tenant_id": event.tenant_id,
                                                   "trigger_id": outcome.trigger_id, "fired": 0, "cooldown": 0,
                                                   "frequency_capped": 0, "last_fired_at_ms": None})
        row[outcome.outcome] += 1
        if outcome.outcome == FIRED:
            row["last_fired_at_ms"] = event.received_at_ms
    return list(rows.values())


def _dispatch_row(record) -> dict:
    state = record.state
    return {"id": record.id, "tenant_id": record.tenant_id, "trigger_id": record.trigger_id,
            "trigger_version": record.trigger_version, "event_id": record.event_id,
            "customer_id": record.customer_id, "action_type": record.action_type, "target": record.target,
            "status": state.status, "attempts": _json(list(record.attempts)), "last_error": state.last_error,
            "created_at_ms": record.created_at_ms, "next_attempt_at_ms": state.next_attempt_at_ms,
            "delivered_at_ms": state.delivered_at_ms}


def _json(value) -> str:
    return orjson.dumps(value).decode()
