"""The composition root: create_app(settings) wires every layer on web.AppKeys."""

import asyncio
import contextlib
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from application.cooldowns import Cooldowns
from application.delivery import Deliveries
from application.ingestion import IngestPolicy, Ingestion
from application.relay import Relay, RelayPolicy
from application.trigger_index import TriggerIndex
from application.triggers import Triggers
from infrastructure.auth import TokenAuthority
from infrastructure.group_commit import GroupCommit
from infrastructure.metrics import Metrics
from infrastructure.nats_server import PrivateNatsServer
from infrastructure.settings import Settings
from infrastructure.storage import SqlStorage, open_journal
from infrastructure.stream import JetStream
from infrastructure.webhooks import SignedWebhooks
from interfaces import ingest_handlers, ops_handlers, trigger_handlers
from interfaces.blocking import blocking as run_blocking
from interfaces.errors import error_middleware
from interfaces.keys import (AUTHORITY, EXECUTOR, INGESTION, JETSTREAM, JOURNAL, METRICS, RELAY, SETTINGS,
                             STORAGE, STREAM_STATUS, TRIGGERS)
from interfaces.observability import request_context_middleware
from interfaces.security import auth_middleware

log = logging.getLogger("tripcord")


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes,
                          middlewares=[request_context_middleware, error_middleware, auth_middleware])
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app[AUTHORITY] = TokenAuthority(settings.jwt_key())
    app[STREAM_STATUS] = {"state": "starting", "url": None}
    app.cleanup_ctx.extend([database, stream, services])
    app.add_routes(trigger_handlers.routes)
    app.add_routes(ingest_handlers.routes)
    app.add_routes(ops_handlers.routes)
    return app


async def database(app: web.Application):
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    executor = ThreadPoolExecutor(settings.db_threads, thread_name_prefix="tripcord-db")
    # Constructing the journal creates tables: it blocks, so it runs on the pool too.
    journal = await asyncio.get_running_loop().run_in_executor(executor, open_journal, settings.sqlalchemy_url)
    app[EXECUTOR], app[JOURNAL], app[STORAGE] = executor, journal, SqlStorage(journal)
    yield
    await app[STORAGE].close_async()  # the services, and with them the group commit, have stopped
    executor.shutdown(wait=True)
    journal.close()


async def stream(app: web.Application):
    settings, status = app[SETTINGS], app[STREAM_STATUS]
    private = None
    if not settings.stream_enabled:
        status["state"] = "disabled"
        app[JETSTREAM] = None
        yield
        return
    url = settings.nats_url
    if url is None:
        private = PrivateNatsServer(settings.data_dir)
        url = await asyncio.get_running_loop().run_in_executor(None, private.start)
        log.warning("started a private nats-server at %s", url)
        print(f"tripcord: private nats-server (JetStream) at {url}", flush=True)
    status["url"] = url
    jetstream = JetStream(url, settings.stream_duplicate_window_s)
    jetstream.start()
    app[JETSTREAM] = jetstream
    yield
    await jetstream.close()
    if private is not None:
        private.stop()


async def services(app: web.Application):
    settings, storage, journal, metrics = app[SETTINGS], app[STORAGE], app[JOURNAL], app[METRICS]
    blocking = functools.partial(run_blocking, app)  # the application's Blocking port

    index = TriggerIndex()
    app[TRIGGERS] = triggers = Triggers(journal, storage, index)
    await blocking(triggers.refresh_index)
    webhooks = SignedWebhooks(settings.webhook_allow_private)
    deliveries = Deliveries(app[JETSTREAM], webhooks)
    # One queue for every unit: the event table's lock lasts one statement per batch, so units that
    # only settle the outbox lose nothing by riding with the rest, and batches grow larger.
    commit = GroupCommit(functools.partial(storage.record_async, blocking=blocking), settings.batch_max,
                         metrics.batch.observe)
    app[INGESTION] = Ingestion(
        journal, index, Cooldowns(), commit, deliveries, blocking, metrics,
        IngestPolicy(settings.dispatch_deadline_s, settings.stream_publish_timeout_s, settings.retry_base_ms))
    app[RELAY] = relay = Relay(
        journal, storage, deliveries, commit, blocking, metrics,
        RelayPolicy(settings.dispatch_max_attempts, settings.retry_base_ms, settings.retry_max_ms))
    tasks = [
        asyncio.create_task(_poll_index(triggers, blocking, settings.index_poll_s)),
        asyncio.create_task(relay.run_forever(settings.relay_poll_s)),
        asyncio.create_task(_watch(app, blocking, settings.relay_poll_s)),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await commit.drain()  # the outcomes ingest queued without waiting
    await webhooks.close()


async def _poll_index(triggers: Triggers, blocking, interval_s: float) -> None:
    """Other processes' trigger changes reach this process's index within one interval."""
    while True:
        await asyncio.sleep(interval_s)
        with contextlib.suppress(Exception):
            if await blocking(triggers.storage.listing_position) > triggers.index.position:
                await blocking(triggers.refresh_index)


async def _watch(app: web.Application, blocking, interval_s: float) -> None:
    """Keeps the readiness state and the outbox gauges current."""
    jetstream, status, metrics = app[JETSTREAM], app[STREAM_STATUS], app[METRICS]
    while True:
        if jetstream is not None:
            status["state"] = "ok" if jetstream.connected else "unavailable"
        with contextlib.suppress(Exception):
            waiting, lag_ms = await blocking(app[STORAGE].outbox_stats, int(time.time() * 1000))
            metrics.outbox.set(waiting)
            metrics.relay_lag.set(lag_ms / 1000)
        await asyncio.sleep(interval_s)


