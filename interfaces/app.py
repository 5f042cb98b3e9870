"""The composition root: create_app(settings) wires every layer on web.AppKeys."""

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.deliveries import Sender
from application.dispatches import Dispatches
from application.dry_runs import DryRuns
from application.ingestion import IngestPolicy, Ingestion
from application.lookups import Lookups
from application.planner import Planner
from application.rebuilds import Rebuilds
from application.relay import Relay, RelayPolicy
from application.repeats import Repeats
from application.settings_services import TenantSettingsService
from application.tenant_settings import TenantSettings
from application.trigger_index import TriggerIndex
from application.triggers import Triggers
from domain.idempotency import KEY_LIFETIME_MS
from infrastructure.auth import TokenAuthority
from infrastructure.group_commit import GroupCommit
from infrastructure.metrics import Metrics
from infrastructure.nats_server import PrivateNatsServer
from infrastructure.settings import Settings
from infrastructure.sql.database import Database, open_journal
from infrastructure.sql.dispatch_log import SqlDispatchLog
from infrastructure.sql.event_log import SqlEventLog
from infrastructure.sql.heads import SqlAggregateHeads
from infrastructure.sql.idempotency import SqlIdempotency
from infrastructure.sql.listing import SqlTriggerListing
from infrastructure.sql.tenant_settings import SqlTenantSettings
from infrastructure.sql.units import UnitRecorder
from infrastructure.stream import JetStream, StreamSettings
from infrastructure.json_schemas import JsonSchemaCompiler
from infrastructure.templates import LiquidTemplates
from infrastructure.webhooks import SignedWebhooks
from interfaces import (console_handlers, dispatch_handlers, ingest_handlers, lookup_handlers, ops_handlers,
                        settings_handlers, trigger_handlers)
from interfaces.blocking import Blocking
from interfaces.keys import (ACCESS_LOG, AUTHORITY, BLOCKING, DATABASE, DISPATCH_LOG, DISPATCHES, DRY_RUNS, EVENT_LOG,
                             IDEMPOTENCY, INGESTION, JETSTREAM, LISTING, LIVE_STREAMS, LOOKUPS, METRICS, RATES,
                             RECORDER, RELAY, SETTINGS, SETTINGS_SERVICE, SETTINGS_STORE, STREAM_STATUS, TICKETS,
                             TRIGGERS)
from interfaces.observability import AccessLog, middleware
from interfaces.rate_limits import TenantRates
from interfaces.stream_tickets import Tickets

log = logging.getLogger("tripcord")
HOUSEKEEPING_S = 60.0
RETENTION_BATCH = 1000


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=max(settings.max_body_bytes, settings.max_batch_bytes),
                          middlewares=[middleware])
    app[SETTINGS] = settings
    app[ACCESS_LOG] = AccessLog() if settings.access_log else None
    app[METRICS] = Metrics()
    app[AUTHORITY] = TokenAuthority(settings.jwt_key())
    app[TICKETS] = Tickets(settings.jwt_key())
    app[LIVE_STREAMS] = set()
    app[STREAM_STATUS] = {"state": "starting", "url": None}
    app[RATES] = TenantRates(settings.tenant_rate, settings.tenant_burst) if settings.tenant_rate else None
    app.cleanup_ctx.extend([database, stream, services])
    for handlers in (trigger_handlers, ingest_handlers, dispatch_handlers, lookup_handlers, settings_handlers,
                     console_handlers, ops_handlers):
        app.add_routes(handlers.routes)
    return app


async def database(app: web.Application):
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    executor = ThreadPoolExecutor(settings.db_threads, thread_name_prefix="tripcord-db")
    # Opening the journal creates tables: it blocks, so it runs on the pool too.
    journal = await asyncio.get_running_loop().run_in_executor(executor, open_journal, settings.sqlalchemy_url)
    app[BLOCKING] = blocking = Blocking(executor)
    app[DATABASE] = db = Database(journal)
    app[LISTING] = listing = SqlTriggerListing(db)
    app[EVENT_LOG], app[DISPATCH_LOG], app[IDEMPOTENCY] = SqlEventLog(db), SqlDispatchLog(db), SqlIdempotency(db)
    app[SETTINGS_STORE] = settings_store = SqlTenantSettings(db)
    app[RECORDER] = UnitRecorder(db, [listing, settings_store], blocking)
    yield
    await app[RECORDER].close()  # the services, and with them the group commit, have stopped
    executor.shutdown(wait=True)
    journal.close()


def start_private_nats(settings: Settings) -> tuple[PrivateNatsServer, Settings]:
    """A private nats-server in the data directory, and the settings that point at it. Raises
    StoreInUse when another one holds the directory's store."""
    private = PrivateNatsServer(settings.data_dir)
    url = private.start()
    print(f"tripcord: private nats-server (JetStream) at {url}, token in {settings.data_dir / 'nats_token'}",
          flush=True)
    return private, settings.model_copy(update={"nats_url": url, "nats_token": private.token})


async def stream(app: web.Application):
    settings, status = app[SETTINGS], app[STREAM_STATUS]
    if not settings.stream_enabled:
        status["state"] = "disabled"
        app[JETSTREAM] = None
        yield
        return
    private = None
    if not settings.nats_servers:
        private, settings = start_private_nats(settings)  # started from this thread: it dies with us
        log.warning("started a private nats-server at %s", settings.nats_url)
    status["url"] = ",".join(settings.nats_servers)
    jetstream = JetStream(settings.nats_servers, StreamSettings(
        settings.stream_duplicate_window_s, settings.stream_max_age, settings.stream_replicas), settings.nats_token)
    jetstream.start()
    app[JETSTREAM] = jetstream
    yield
    await jetstream.close()
    if private is not None:
        private.stop()


async def services(app: web.Application):
    settings, journal, metrics, blocking = app[SETTINGS], app[DATABASE].journal, app[METRICS], app[BLOCKING]
    event_log, dispatch_log = app[EVENT_LOG], app[DISPATCH_LOG]
    templates = LiquidTemplates()
    index = TriggerIndex(templates)
    app[TRIGGERS] = triggers = Triggers(journal, app[LISTING], app[RECORDER].record, index, templates,
                                        settings.max_triggers_per_tenant)
    await blocking(triggers.refresh_index)
    compiler = JsonSchemaCompiler()
    tenant_settings = TenantSettings(compiler)
    app[SETTINGS_SERVICE] = settings_service = TenantSettingsService(
        journal, app[SETTINGS_STORE], app[RECORDER].record, tenant_settings, compiler)
    await blocking(settings_service.refresh_index)
    app[DRY_RUNS] = DryRuns(journal, triggers, templates, tenant_settings.caps)
    webhooks = SignedWebhooks(settings.webhook_allow_private, settings.webhook_host_connections)
    sender = Sender(app[JETSTREAM], webhooks)
    rebuilds = Rebuilds(journal, event_log, templates)
    # One queue for every unit: the event table's lock lasts one statement per batch, so units that
    # only record outcomes lose nothing by riding with the rest, and batches grow larger.
    commit = GroupCommit(app[RECORDER], settings.batch_max, metrics.batch.observe)
    schedule = settings.retry_delays
    repeats = Repeats(app[IDEMPOTENCY], event_log, dispatch_log, rebuilds, commit, blocking)
    app[INGESTION] = Ingestion(
        Planner(index, Cooldowns(), Allowances(), tenant_settings.caps), commit, sender,
        SqlAggregateHeads(app[DATABASE]), repeats, blocking,
        metrics, tenant_settings, IngestPolicy(settings.dispatch_deadline_s, settings.stream_publish_timeout_s,
                                               schedule))
    app[RELAY] = relay = Relay(event_log, dispatch_log, rebuilds, sender, blocking, metrics,
                               RelayPolicy(schedule, settings.relay_grace_ms))
    app[DISPATCHES] = Dispatches(dispatch_log, event_log, rebuilds, relay, blocking, relay.policy.lease_ms)
    app[LOOKUPS] = Lookups(event_log, dispatch_log, blocking)
    tasks = [
        asyncio.create_task(_poll_indexes(triggers, settings_service, blocking, settings.index_poll_s)),
        asyncio.create_task(_watch(app, settings.relay_poll_s)),
        asyncio.create_task(_housekeeping(app)),
    ]
    if app[ACCESS_LOG] is not None:
        tasks.append(asyncio.create_task(_flush_every(app[ACCESS_LOG], AccessLog.FLUSH_EVERY_S)))
    if settings.relay:  # resends still deliver through this process's relay object
        tasks.append(asyncio.create_task(relay.run_forever(settings.relay_poll_s)))
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await relay.stop()
    await commit.drain()  # the outcomes ingest queued without waiting
    await webhooks.close()
    if app[ACCESS_LOG] is not None:
        app[ACCESS_LOG].flush()


async def _poll_indexes(triggers: Triggers, settings: TenantSettingsService, blocking: Blocking,
                        interval_s: float) -> None:
    """Other processes' changes to triggers and tenant settings reach this process within one interval."""
    while True:
        await asyncio.sleep(interval_s)
        with contextlib.suppress(Exception):
            if await blocking(triggers.listing.listing_position) > triggers.index.position:
                await blocking(triggers.refresh_index)
            if await blocking(settings.store.position) > settings.index.position:
                await blocking(settings.refresh_index)


async def _watch(app: web.Application, interval_s: float) -> None:
    """Keeps the readiness state and the relay's gauges current."""
    jetstream, status, metrics = app[JETSTREAM], app[STREAM_STATUS], app[METRICS]
    while True:
        if jetstream is not None:
            status["state"] = "ok" if jetstream.connected else "unavailable"
        with contextlib.suppress(Exception):
            waiting, lag_ms = await app[BLOCKING](app[EVENT_LOG].backlog, int(time.time() * 1000))
            metrics.relay_backlog.set(waiting)
            metrics.relay_lag.set(lag_ms / 1000)
        await asyncio.sleep(interval_s)


async def _flush_every(access_log: AccessLog, interval_s: float) -> None:
    """An access line waits in its batch for at most this long."""
    while True:
        await asyncio.sleep(interval_s)
        access_log.flush()


async def _housekeeping(app: web.Application) -> None:
    """Bounds what grows: idempotency keys after their day, and the event log past its retention."""
    settings, blocking = app[SETTINGS], app[BLOCKING]
    while True:
        now_ms = int(time.time() * 1000)
        try:
            await blocking(app[IDEMPOTENCY].purge, now_ms - KEY_LIFETIME_MS)
            if settings.event_retention_days is not None:
                cutoff = now_ms - int(settings.event_retention_days * 86400 * 1000)
                while await blocking(app[EVENT_LOG].purge, cutoff, RETENTION_BATCH) == RETENTION_BATCH:
                    await asyncio.sleep(0)
        except Exception as error:  # the database is down, say: next round
            log.warning("housekeeping failed", extra={"error": f"{type(error).__name__}: {error}"})
        await asyncio.sleep(HOUSEKEEPING_S)
