"""The web console: its pages, and the live stream they show (the only thing it needs beyond the API).

The pages are static files of this package (plain ES modules, no build step, nothing fetched from
elsewhere); they speak the public API with the token the person pastes. Every console response
carries a Content-Security-Policy that allows scripts, styles and connections to this origin only.
"""

import asyncio
import contextlib
from pathlib import Path

import orjson
from aiohttp import web
from aiohttp_sse import sse_response

from application.subjects import tenant_events
from interfaces.console_schemas import LiveQuery, StreamTicket
from interfaces.errors import error_response
from interfaces.keys import JETSTREAM, LIVE_STREAMS, PRINCIPAL, TENANT, TICKETS
from interfaces.request_body import json_response, parse_query
from interfaces.security import roles
from interfaces.stream_tickets import InvalidTicket

PAGES = Path(__file__).resolve().parent / "console"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MAX_STREAMS = 100  # live streams open at once, per process
routes = web.RouteTableDef()


@routes.get("/console")
async def console_root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/console/")


@routes.get("/console/")
async def console_page(request: web.Request) -> web.Response:
    return _file(PAGES / "index.html")


@routes.get(r"/console/{path:[a-z0-9_/]+\.(?:js|css|svg)}")
async def console_file(request: web.Request) -> web.Response:
    found = (PAGES / request.match_info["path"]).resolve()
    if PAGES not in found.parents or not found.is_file():
        raise web.HTTPNotFound(text="no such console file")
    return _file(found)


def _file(path: Path) -> web.Response:
    return web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix],
                        headers=SECURITY_HEADERS)


@routes.post("/api/v1/stream-tickets")
@roles("admin", "editor")
async def stream_ticket(request: web.Request) -> web.Response:
    ticket, expires = request.app[TICKETS].issue(request[TENANT], request[PRINCIPAL].subject)
    return json_response(StreamTicket(ticket=ticket, expiresAt=expires).model_dump(), status=201)


@routes.get("/api/v1/events/live")
async def live_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: the ticket's tenant's events as they reach the stream, newest only."""
    if "ticket" not in request.query:
        return error_response(401, "a ticket is required: POST /api/v1/stream-tickets with your token")
    query = parse_query(request, LiveQuery)  # before the ticket is spent, so a typo does not cost it
    try:
        tenant_id, _ = request.app[TICKETS].redeem(query.ticket)
    except InvalidTicket as refused:
        return error_response(401, str(refused))
    jetstream = request.app[JETSTREAM]
    if jetstream is None or not jetstream.connected:
        return error_response(503, "the stream is not available", code="stream_unavailable",
                              headers={"Retry-After": "5"})
    streams = request.app[LIVE_STREAMS]
    if len(streams) >= MAX_STREAMS:
        return error_response(503, "too many live streams are open; retry shortly", headers={"Retry-After": "5"})
    queue: asyncio.Queue = asyncio.Queue(maxsize=1000)

    async def received(message) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a browser that cannot keep up misses events, not memory
            queue.put_nowait(message)
    subscription = await jetstream.js.subscribe(tenant_events(tenant_id, query.type), ordered_consumer=True,
                                                deliver_policy="new", cb=received)
    streams.add(subscription)
    try:
        async with sse_response(request, headers=SECURITY_HEADERS) as stream:
            while stream.is_connected():
                message = await queue.get()
                event = orjson.loads(message.data)
                if query.customerId is None or event.get("customerId") == query.customerId:
                    await stream.send(orjson.dumps({**event, "sequence": message.metadata.sequence.stream}).decode(),
                                      event="ingested")
    finally:
        streams.discard(subscription)
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
    return stream

