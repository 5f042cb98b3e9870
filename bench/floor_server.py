"""The floor: the least an ingest endpoint with a durable write and an acknowledged publish does.

    python bench/floor_server.py PORT MODE    (MODE: bare, commit, publish, publish-nats-py, both)

It parses the event like the bare endpoint, then, by mode, group-commits it as one row (one
PostgreSQL round trip per batch, in the event loop) and/or publishes it to JetStream and waits
for the acknowledgement. No auth, validation, triggers or outbox: what it costs is what any
design on this stack pays before doing Tripcord's work. FLOOR_POSTGRES_URL and FLOOR_NATS_URL.
"""

import functools
import itertools
import os
import secrets
import sys
from pathlib import Path

import orjson
import psycopg
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from application.records import UnitOfWork  # noqa: E402
from infrastructure.group_commit import GroupCommit  # noqa: E402
from infrastructure.stream import JetStream, StreamSettings  # noqa: E402
from tests.servers import libpq_url  # noqa: E402

MODES = ("bare", "commit", "publish", "publish-nats-py", "both")
INSERT = ("INSERT INTO floor_events (id, body) SELECT id, body FROM json_to_recordset(%s::json) "
          "AS t(id text, body json)")


async def insert_rows(connection: psycopg.AsyncConnection, units: list[UnitOfWork]) -> tuple:
    """GroupCommit's record: each unit carries one row as its event; nothing ever clashes."""
    await connection.execute(INSERT, (orjson.dumps([u.events[0] for u in units]).decode(),))
    return ()


async def ingest(request: web.Request) -> web.Response:
    app, event = request.app, orjson.loads(await request.read())
    event_id = f"evt_{next(app['ids'])}"
    body = orjson.dumps({"id": event_id, **event})
    if "commit" in app:
        await app["commit"](UnitOfWork(events=[{"id": event_id, "body": event}]))
    sequence = None
    if "stream" in app:
        sequence = await app["stream"].publish(f"tripcord.events.floor.{event['type']}", event_id, body)
    elif "nats_py" in app:
        ack = await app["nats_py"].publish_async(f"tripcord.events.floor.{event['type']}", body,
                                                 headers={"Nats-Msg-Id": event_id})
        sequence = (await ack).seq
    return web.Response(body=orjson.dumps({"ingested": True, "eventId": event_id, "streamSequence": sequence}),
                        content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")  # answered only once the connections below are up


async def connections(app: web.Application):
    mode, closing = app["mode"], []
    if mode in ("commit", "both"):
        connection = await psycopg.AsyncConnection.connect(libpq_url(os.environ["FLOOR_POSTGRES_URL"]),
                                                           autocommit=True)
        await connection.execute("CREATE TABLE IF NOT EXISTS floor_events "
                                 "(n bigserial PRIMARY KEY, id text UNIQUE, body json)")
        # Tripcord's own group commit: a batch is what queued while the previous one was written.
        app["commit"] = GroupCommit(functools.partial(insert_rows, connection), max_batch=256)
        closing.append(connection.close)
    if mode in ("publish", "both", "publish-nats-py"):
        stream = JetStream([os.environ["FLOOR_NATS_URL"]], StreamSettings(duplicate_window_s=120))
        stream.start()
        assert await stream.wait_ready(30)
        if mode == "publish-nats-py":
            app["nats_py"] = stream.js  # nats-py's own pipelined publish, for comparison
        else:
            app["stream"] = stream
        closing.append(stream.close)
    yield
    for close in closing:
        await close()


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    assert mode in MODES, f"MODE is one of {MODES}"
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    app = web.Application()
    app["mode"], app["ids"] = mode, map(f"{secrets.token_hex(6)}{{:012x}}".format, itertools.count())
    app.cleanup_ctx.append(connections)
    app.router.add_post("/api/v1/events/ingest", ingest)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
