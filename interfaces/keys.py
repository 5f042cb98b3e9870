"""Everything the app composes, on typed keys (no module-level singletons)."""

from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from application.ingestion import Ingestion
from application.journal import Journal
from application.relay import Relay
from application.triggers import Triggers
from infrastructure.auth import Principal, TokenAuthority
from infrastructure.metrics import Metrics
from infrastructure.settings import Settings
from infrastructure.storage import SqlStorage

SETTINGS = web.AppKey("settings", Settings)
EXECUTOR = web.AppKey("executor", ThreadPoolExecutor)
JOURNAL = web.AppKey("journal", Journal)
STORAGE = web.AppKey("storage", SqlStorage)
TRIGGERS = web.AppKey("triggers", Triggers)
INGESTION = web.AppKey("ingestion", Ingestion)
RELAY = web.AppKey("relay", Relay)
AUTHORITY = web.AppKey("authority", TokenAuthority)
METRICS = web.AppKey("metrics", Metrics)
STREAM_STATUS = web.AppKey("stream_status", dict)
JETSTREAM = web.AppKey("jetstream", object)  # a JetStream, or None when the stream is disabled

PRINCIPAL = web.RequestKey("principal", Principal)
TENANT = web.RequestKey("tenant", str)
REQUEST_ID = web.RequestKey("request_id", str)
