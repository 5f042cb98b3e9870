"""HTTP handler of the Event Ingestion API (seed 000)."""

import re

from aiohttp import web

from application.ingestion import RequestInProgress
from interfaces.errors import error_response
from interfaces.keys import INGESTION, TENANT
from interfaces.request_body import json_response, parse_body
from interfaces.schemas import IngestRequest
from interfaces.security import roles

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
routes = web.RouteTableDef()


@routes.post("/api/v1/events/ingest")
@roles("admin", "editor")
async def ingest_event(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return error_response(400, "Idempotency-Key must be 1 to 255 visible ASCII characters")
    body = await parse_body(request, IngestRequest)
    event = {"type": body.type, "customerId": body.customerId, "data": body.data,
             "channel": body.channel, "timestamp": body.timestamp}
    try:
        response = await request.app[INGESTION].ingest(request[TENANT], event, key)
    except RequestInProgress:
        return error_response(409, "a request with this Idempotency-Key is still in progress",
                              code="request_in_progress")
    return json_response(response)
