"""The database: the event store (eventsourcing-sqlalchemy) and our tables, on SQLite or PostgreSQL.

Our tables share the event store's session, and therefore its commit. Every transaction that
appends to the event log takes the event store's exclusive table lock first, as its own writes
do, so event log positions commit in the order they were given.
"""

from contextlib import contextmanager

from sqlalchemy import create_engine, event, func, make_url, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import NullPool

from application.journal import Journal
from infrastructure.sql.pg_writer import install
from infrastructure.sql.tables import metadata

IN_CHUNKS = 500  # keys per IN (...) list
SCHEMA_LOCK = 0x7472697063  # a PostgreSQL advisory lock key of our own
SNAPSHOT_EVERY = 50  # events replayed before a reload also writes a snapshot


def open_journal(sqlalchemy_url: str) -> Journal:
    sqlalchemy_url = without_jit(sqlalchemy_url)
    with _schema_lock(sqlalchemy_url):
        journal = Journal(env={"PERSISTENCE_MODULE": "infrastructure.sql.event_recorder:Factory",
                               "SQLALCHEMY_URL": sqlalchemy_url, "IS_SNAPSHOTTING_ENABLED": "y"})
        engine = journal.recorder.datastore.engine
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _custom_plans_only)
            engine.dispose()  # the connections opened so far go; the next ones are told
        metadata.create_all(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                install(connection, journal.recorder.events_table_name)
    return journal


def without_jit(sqlalchemy_url: str) -> str:
    """PostgreSQL's JIT compiles a plan whose estimated cost passes `jit_above_cost`, which the
    relay's stretch of 2,000 events can: 20–30 ms of compiling for a statement that runs in a few.
    Our statements are all short, so every connection of ours turns it off (a session setting,
    added to any `options` the URL gives)."""
    url = make_url(sqlalchemy_url)
    if url.get_backend_name() != "postgresql":
        return sqlalchemy_url
    options = " ".join(filter(None, (url.query.get("options"), "-c jit=off")))
    return url.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _custom_plans_only(dbapi_connection, _record) -> None:
    """psycopg prepares a statement run 5 times on a connection, and after 5 more PostgreSQL may
    plan it once for any parameters. For the relay's stretch that generic plan took 40–50 ms a
    stretch against 7–11 ms planned for its values; every statement of ours is short to plan, so
    none is prepared. (The writer's own connection prepares its call of the write function, which
    has one plan whatever its documents; the statement inside is planned by PL/pgSQL, per connection.)"""
    dbapi_connection.prepare_threshold = None


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


class Database:
    def __init__(self, journal: Journal):
        self.journal = journal
        self.recorder = journal.recorder
        self.engine = self.recorder.datastore.engine
        self.is_postgres = self.engine.dialect.name == "postgresql"
        self.events_table = self.recorder.events_table_name

    def transaction(self, commit: bool = True):
        return self.recorder.transaction(commit=commit)

    def reading(self):
        """One statement is one snapshot: reads need no transaction around them, only a connection."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def look_up(self, key, value, keys) -> dict:
        """`value` by `key` for each of `keys` the table holds: a column pair read in IN_CHUNKS keys
        per statement, so a long list never meets a database's limit on parameters."""
        found = {}
        with self.reading() as connection:
            for start in range(0, len(keys), IN_CHUNKS):
                chunk = list(keys[start:start + IN_CHUNKS])
                found.update(connection.execute(select(key, value).where(key.in_(chunk))).all())
        return found

    def lock_event_log(self, session) -> None:
        if self.is_postgres:
            session.execute(text(f"LOCK TABLE {self.events_table} IN EXCLUSIVE MODE"))

    def upsert(self, table):
        """An INSERT that takes ON CONFLICT clauses, in this database's dialect."""
        return (postgresql.insert if self.is_postgres else sqlite.insert)(table)

    def greatest(self, *values):
        return func.greatest(*values) if self.is_postgres else func.max(*values)

    def ping(self) -> None:
        with self.reading() as connection:
            connection.execute(text("SELECT 1"))
