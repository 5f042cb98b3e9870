"""Everything the app composes, on typed keys (no module-level singletons)."""

from aiohttp import web

from application.dispatches import Dispatches
from application.dry_runs import DryRuns
from application.ingestion import Ingestion
from application.lookups import Lookups
from application.relay import Relay
from application.settings_services import TenantSettingsService
from application.triggers import Triggers
from infrastructure.auth import Principal, TokenAuthority
from infrastructure.metrics import Metrics
from infrastructure.settings import Settings
from infrastructure.sql.database import Database
from infrastructure.sql.dispatch_log import SqlDispatchLog
from infrastructure.sql.event_log import SqlEventLog
from infrastructure.sql.idempotency import SqlIdempotency
from infrastructure.sql.listing import SqlTriggerListing
from infrastructure.sql.tenant_settings import SqlTenantSettings
from infrastructure.sql.units import UnitRecorder
from interfaces.blocking import Blocking
from interfaces.stream_tickets import Tickets

SETTINGS = web.AppKey("settings", Settings)
ACCESS_LOG = web.AppKey("access_log", object)  # an AccessLog, or None when TRIPCORD_ACCESS_LOG is false
BLOCKING = web.AppKey("blocking", Blocking)
DATABASE = web.AppKey("database", Database)
LISTING = web.AppKey("listing", SqlTriggerListing)
SETTINGS_STORE = web.AppKey("settings_store", SqlTenantSettings)
EVENT_LOG = web.AppKey("event_log", SqlEventLog)
DISPATCH_LOG = web.AppKey("dispatch_log", SqlDispatchLog)
IDEMPOTENCY = web.AppKey("idempotency", SqlIdempotency)
RECORDER = web.AppKey("recorder", UnitRecorder)
TRIGGERS = web.AppKey("triggers", Triggers)
SETTINGS_SERVICE = web.AppKey("tenant_settings", TenantSettingsService)
DRY_RUNS = web.AppKey("dry_runs", DryRuns)
INGESTION = web.AppKey("ingestion", Ingestion)
RELAY = web.AppKey("relay", Relay)
DISPATCHES = web.AppKey("dispatches", Dispatches)
LOOKUPS = web.AppKey("lookups", Lookups)
AUTHORITY = web.AppKey("authority", TokenAuthority)
METRICS = web.AppKey("metrics", Metrics)
STREAM_STATUS = web.AppKey("stream_status", dict)
TICKETS = web.AppKey("tickets", Tickets)
LIVE_STREAMS = web.AppKey("live_streams", set)  # the live streams open in this process
RATES = web.AppKey("rates", object)  # TenantRates, or None when no rate is set
JETSTREAM = web.AppKey("jetstream", object)  # a JetStream, or None when the stream is disabled

PRINCIPAL = web.RequestKey("principal", Principal)
TENANT = web.RequestKey("tenant", str)
REQUEST_ID = web.RequestKey("request_id", str)
