"""HTTP handler of the Event Ingestion API (seed 000)."""

import re

from aiohttp import web

from application.ingestion import IngestResult
from interfaces.errors import error_response
from interfaces.keys import INGESTION, RATES, TENANT
from interfaces.rate_limits import admit
from interfaces.request_body import json_response, parse_body
from interfaces.schemas import IngestRequest
from interfaces.security import roles

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
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
    return json_response(present(await request.app[INGESTION].ingest(request[TENANT], event, key)))


def present(result: IngestResult) -> dict:
    shown = {
        "ingested": True,
        "eventId": result.event_id,
        "eventType": result.event_type,
        "customerId": result.customer_id,
        "streamId": result.stream_id,
        "streamSequence": result.stream_sequence,
        "triggersMatched": [{"triggerId": m.trigger_id, "actionType": m.action_type} for m in result.matched],
        "actionsDispatched": [{"triggerId": d.trigger_id, "actionType": d.action_type, "dispatchId": d.dispatch_id,
                               "config": d.config} for d in result.dispatched],
    }
    if result.failed:
        shown["actionErrors"] = [{"triggerId": f.trigger_id, "actionType": f.action_type,
                                  "dispatchId": f.dispatch_id, "error": f.error} for f in result.failed]
    return shown
