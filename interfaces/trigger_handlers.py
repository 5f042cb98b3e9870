"""HTTP handlers of the Triggers API (seed 002): parse, one application call, present."""

from datetime import datetime, timezone

from aiohttp import web

from domain.actions import public_config
from interfaces.keys import BLOCKING, DRY_RUNS, PRINCIPAL, TENANT, TRIGGERS
from interfaces.request_body import json_response, parse_body, parse_query
from interfaces.schemas import (PUBLIC_NAMES, FIELD_NAMES, TriggerCreate, TriggerListQuery, TriggerTest,
                                TriggerUpdate, VersionQuery, iso)
from interfaces.security import roles

MAX_LIMIT = 200
routes = web.RouteTableDef()


@routes.get("/api/v1/triggers")
@roles("admin", "editor")
async def list_triggers(request: web.Request) -> web.Response:
    query = parse_query(request, TriggerListQuery)
    limit = min(query.limit, MAX_LIMIT)
    rows, total = await request.app[BLOCKING](request.app[TRIGGERS].page, request[TENANT],
                                 query.status, query.eventType, limit, query.offset)
    return json_response({
        "data": [present(r) for r in rows],
        "pagination": {"total": total, "limit": limit, "offset": query.offset,
                       "hasMore": query.offset + len(rows) < total},
    })


@routes.post("/api/v1/triggers")
@roles("admin", "editor")
async def create_trigger(request: web.Request) -> web.Response:
    body = await parse_body(request, TriggerCreate)
    trigger = await request.app[BLOCKING](request.app[TRIGGERS].create, request[TENANT],
                             _settings(body), request[PRINCIPAL].subject)
    return json_response(present(trigger), status=201)


@routes.get("/api/v1/triggers/{trigger_id}")
@roles("admin", "editor")
async def get_trigger(request: web.Request) -> web.Response:
    query = parse_query(request, VersionQuery)
    trigger = await request.app[BLOCKING](request.app[TRIGGERS].get, request[TENANT],
                             request.match_info["trigger_id"], query.version)
    return json_response(present(trigger))


@routes.put("/api/v1/triggers/{trigger_id}")
@roles("admin", "editor")
async def update_trigger(request: web.Request) -> web.Response:
    body = await parse_body(request, TriggerUpdate)
    trigger = await request.app[BLOCKING](request.app[TRIGGERS].update, request[TENANT],
                             request.match_info["trigger_id"], _settings(body),
                             request[PRINCIPAL].subject, body.version)
    return json_response(present(trigger))


@routes.delete("/api/v1/triggers/{trigger_id}")
@roles("admin")
async def delete_trigger(request: web.Request) -> web.Response:
    await request.app[BLOCKING](request.app[TRIGGERS].delete, request[TENANT],
                   request.match_info["trigger_id"], request[PRINCIPAL].subject)
    return web.Response(status=204)


@routes.post("/api/v1/triggers/{trigger_id}/test")
@roles("admin", "editor")
async def test_trigger(request: web.Request) -> web.Response:
    body = await parse_body(request, TriggerTest)
    event = {"type": body.type, "customerId": body.customerId, "channel": body.channel,
             "timestamp": body.timestamp or iso(datetime.now(timezone.utc)), "data": body.eventPayload}
    result = await request.app[BLOCKING](request.app[DRY_RUNS].test, request[TENANT],
                                         request.match_info["trigger_id"], event)
    shown = {"wouldFire": result.would_fire, "reason": result.reason,
             "trace": [leaf.as_dict() for leaf in result.trace], "renderedConfig": result.config,
             "heldBy": result.held_by}
    if result.render_error is not None:
        shown["renderError"] = result.render_error
    return json_response(shown)


@routes.get("/api/v1/triggers/{trigger_id}/history")
@roles("admin", "editor")
async def trigger_history(request: web.Request) -> web.Response:
    entries = await request.app[BLOCKING](request.app[TRIGGERS].history, request[TENANT],
                             request.match_info["trigger_id"])
    return json_response({"data": [
        {**e, "at": iso(e["at"]), "fields": {PUBLIC_NAMES[k]: v for k, v in e["fields"].items()}}
        for e in entries
    ]})


def _settings(body) -> dict:
    given = body.model_dump(exclude_unset=True, exclude={"version"})
    return {FIELD_NAMES[k]: v for k, v in given.items()}


def present(trigger: dict) -> dict:
    return {
        "id": trigger["trigger_id"],
        "name": trigger["name"],
        "description": trigger["description"],
        "eventType": trigger["event_type"],
        "actionType": trigger["action_type"],
        "actionConfig": public_config(trigger["action_config"]),
        "condition": trigger["condition"],
        "priority": trigger["priority"],
        "cooldownMs": trigger["cooldown_ms"],
        "status": trigger["status"],
        "ignoreFrequencyCaps": trigger.get("ignore_frequency_caps", False),
        "createdAt": iso(trigger["created_at"]),
        "updatedAt": iso(trigger["updated_at"]),
        "version": trigger["version"],
    }
