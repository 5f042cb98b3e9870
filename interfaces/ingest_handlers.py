"""HTTP handlers of the Event Ingestion API (seed 000): one event, or a batch of them."""

import re

import orjson
from aiohttp import web
from pydantic import ValidationError

from application.ingest_results import IngestResult
from interfaces.errors import describe, error_response, validation_details
from interfaces.keys import INGESTION, RATES, SETTINGS, TENANT
from interfaces.rate_limits import admit
from interfaces.request_body import json_response, parse_body
from interfaces.schemas import BatchEvent, BatchRequest, IngestRequest, IngestResponse
from interfaces.security import roles

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
MAX_EVENT_BYTES = 32 * 1024
routes = web.RouteTableDef()


@routes.post("/api/v1/events/ingest")
@roles("admin", "editor", "ingest")
async def ingest_event(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        return error_response(400, "Idempotency-Key must be 1 to 255 visible ASCII characters")
    admit(request.app[RATES], request[TENANT])
    body = await parse_body(request, IngestRequest)
    event = {"type": body.type, "customerId": body.customerId, "data": body.data,
             "channel": body.channel, "timestamp": body.timestamp}
    result = await request.app[INGESTION].ingest(request[TENANT], event, key)
    return web.Response(body=IngestResponse.of(result).json_bytes(), content_type="application/json")


@routes.post("/api/v1/events/batch")
@roles("admin", "editor", "ingest")
async def ingest_batch(request: web.Request) -> web.Response:
    batch = await parse_body(request, BatchRequest, request.app[SETTINGS].max_batch_bytes)
    # No event is longer than the whole body (read once, kept by aiohttp): most batches need no measuring.
    if len(await request.read()) > MAX_EVENT_BYTES and any(
            len(orjson.dumps(event)) > MAX_EVENT_BYTES for event in batch.events):
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_EVENT_BYTES, actual_size=MAX_EVENT_BYTES + 1,
                                            text=f"an event of the batch is larger than {MAX_EVENT_BYTES} bytes")
    admit(request.app[RATES], request[TENANT], len(batch.events))
    answers = await request.app[INGESTION].ingest_batch(request[TENANT], [_event(raw) for raw in batch.events])
    # Each answer as the single ingest's bytes, spliced in: no dict of it made and walked again.
    results = [orjson.Fragment(IngestResponse.of(a).json_bytes()) if isinstance(a, IngestResult) else _error(a)
               for a in answers]
    failed = sum(1 for a in answers if not isinstance(a, IngestResult))
    return json_response({"ingested": len(answers) - failed, "failed": failed, "results": results})


def _event(raw: dict):
    """The event as ingestion takes it, or the error that makes it fail alone."""
    try:
        body = BatchEvent.model_validate(raw)
    except ValidationError as error:
        return error
    return {"type": body.type, "customerId": body.customerId, "data": body.data, "channel": body.channel,
            "timestamp": body.timestamp, "messageId": body.messageId}


def _error(error: Exception) -> dict:
    described = describe(error)
    if described is None:
        raise error
    _, code, message, details, _ = described
    if isinstance(error, ValidationError):
        details = validation_details(error)
    return {"error": {"code": code, "message": message, "details": details}}
