"""The test servers are real: PostgreSQL answers, JetStream stores, and both survive a restart."""

import uuid

import nats
import psycopg
import pytest
import sqlalchemy
from nats.js.api import StorageType

from tests.servers import libpq_url


def random_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


async def connect_nats(url: str) -> nats.NATS:
    # max_reconnect_attempts=0 would retry forever in nats-py 2.16: only values > 0 bound the attempts.
    return await nats.connect(
        url, connect_timeout=2, allow_reconnect=False, max_reconnect_attempts=1, reconnect_time_wait=0.1
    )


def test_postgres_answers(postgres_url):
    with psycopg.connect(libpq_url(postgres_url)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_postgres_url_is_a_sqlalchemy_url(fresh_postgres_url):
    engine = sqlalchemy.create_engine(fresh_postgres_url)
    with engine.connect() as conn:
        database = conn.scalar(sqlalchemy.text("SELECT current_database()"))
    assert database == sqlalchemy.make_url(fresh_postgres_url).database
    engine.dispose()


def test_sqlite_url_is_a_sqlalchemy_url(sqlite_url):
    engine = sqlalchemy.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.scalar(sqlalchemy.text("SELECT 1")) == 1
    engine.dispose()


async def test_jetstream_stores_and_delivers_a_message(nats_url):
    stream, subject = random_name("TEST"), random_name("test")
    nc = await connect_nats(nats_url)
    js = nc.jetstream()
    await js.add_stream(name=stream, subjects=[subject], storage=StorageType.MEMORY)
    try:
        await js.publish(subject, b"hello", headers={"Nats-Msg-Id": "1"})
        sub = await js.pull_subscribe(subject, stream=stream)
        [msg] = await sub.fetch(1, timeout=2)
        await msg.ack()
        assert msg.data == b"hello"
    finally:
        await js.delete_stream(stream)
        await nc.close()


@pytest.mark.slow
async def test_jetstream_keeps_messages_across_a_restart(throwaway_nats):
    nc = await connect_nats(throwaway_nats.url)
    js = nc.jetstream()
    await js.add_stream(name="EVENTS", subjects=["events"], storage=StorageType.FILE)
    ack = await js.publish("events", b"before restart", headers={"Nats-Msg-Id": "1"})
    await nc.close()

    throwaway_nats.stop()
    with pytest.raises(nats.errors.NoServersError):
        await connect_nats(throwaway_nats.url)
    throwaway_nats.start()

    nc = await connect_nats(throwaway_nats.url)
    msg = await nc.jetstream().get_msg("EVENTS", ack.seq)
    await nc.close()
    assert msg.data == b"before restart"


@pytest.mark.slow
def test_postgres_keeps_committed_rows_across_a_restart(throwaway_postgres):
    conninfo = libpq_url(throwaway_postgres.url)
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE triggers (id text PRIMARY KEY)")
        conn.execute("INSERT INTO triggers VALUES ('before restart')")

    throwaway_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo, connect_timeout=2)
    throwaway_postgres.start()

    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SELECT id FROM triggers").fetchall() == [("before restart",)]
