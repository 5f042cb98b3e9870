"""HTTP handlers of the dispatch log: list, get, resend one, resend many."""

from aiohttp import web

from application.planner import iso_ms
from application.records import DispatchFilter, DispatchRecord
from domain.dispatch import RETRYING
from interfaces import cursors
from interfaces.delivery_schemas import BulkResend, DispatchQuery, ResendQuery, epoch_ms
from interfaces.keys import DISPATCHES, TENANT
from interfaces.request_body import json_response, parse_body, parse_query
from interfaces.security import roles

routes = web.RouteTableDef()


@routes.get("/api/v1/dispatches")
@roles("admin", "editor")
async def list_dispatches(request: web.Request) -> web.Response:
    query = parse_query(request, DispatchQuery)
    where = DispatchFilter(query.status, query.triggerId, query.eventId, query.customerId, query.actionType,
                           epoch_ms(query.since), epoch_ms(query.until))
    records = await request.app[DISPATCHES].page(request[TENANT], where, cursors.decode(query.cursor, int, str),
                                                 query.limit + 1)
    return json_response(cursors.page(records, query.limit, present, lambda r: (r.created_at_ms, r.id)))


@routes.get("/api/v1/dispatches/{dispatch_id}")
@roles("admin", "editor")
async def get_dispatch(request: web.Request) -> web.Response:
    record = await request.app[DISPATCHES].get(request[TENANT], request.match_info["dispatch_id"])
    return json_response(present(record))


@routes.post("/api/v1/dispatches/{dispatch_id}/retry")
@roles("admin", "editor")
async def retry_dispatch(request: web.Request) -> web.Response:
    force = parse_query(request, ResendQuery).force == "true"
    await _no_body_or_empty(request)
    record = await request.app[DISPATCHES].resend(request[TENANT], request.match_info["dispatch_id"], force)
    return json_response(present(record), status=202)


@routes.post("/api/v1/dispatches/retry")
@roles("admin")
async def retry_dispatches(request: web.Request) -> web.Response:
    body = await parse_body(request, BulkResend)
    matched = await request.app[DISPATCHES].resend_matching(request[TENANT], body.status, body.triggerId,
                                                            epoch_ms(body.since), epoch_ms(body.until))
    return json_response({"matched": matched}, status=202)


async def _no_body_or_empty(request: web.Request) -> None:
    """A resend takes no body; `{}` is accepted too."""
    if request.can_read_body and (await request.read()).strip() not in (b"", b"{}"):
        raise web.HTTPBadRequest(text="a resend takes no body (or {})")


def present(record: DispatchRecord) -> dict:
    state = record.state
    return {
        "id": record.id,
        "triggerId": record.trigger_id,
        "triggerVersion": record.trigger_version,
        "eventId": record.event_id,
        "customerId": record.customer_id,
        "actionType": record.action_type,
        "target": record.target,
        "status": state.status,
        "attempts": [_attempt(a) for a in record.attempts],
        "lastError": state.last_error,
        "createdAt": iso_ms(record.created_at_ms),
        "nextAttemptAt": iso_ms(state.next_attempt_at_ms) if state.status == RETRYING else None,
        "deliveredAt": iso_ms(state.delivered_at_ms) if state.delivered_at_ms is not None else None,
    }


def _attempt(attempt: dict) -> dict:
    return {"at": iso_ms(attempt["atMs"]), **{k: v for k, v in attempt.items() if k != "atMs"}}
