"""HTTP handlers of the look-ups: what became of an event, a customer's timeline, a trigger's counts."""

from aiohttp import web

from application.lookups import EventStory
from application.planner import iso_ms
from domain.dispatch import dispatch_id
from interfaces import cursors
from interfaces.delivery_schemas import PageQuery
from interfaces.keys import BLOCKING, LOOKUPS, TENANT, TRIGGERS
from interfaces.request_body import json_response, parse_query
from interfaces.security import roles

routes = web.RouteTableDef()


@routes.get("/api/v1/events/{event_id}")
@roles("admin", "editor")
async def get_event(request: web.Request) -> web.Response:
    story = await request.app[LOOKUPS].event(request[TENANT], request.match_info["event_id"])
    return json_response(present(story))


@routes.get("/api/v1/customers/{customer_id}/events")
@roles("admin", "editor")
async def customer_events(request: web.Request) -> web.Response:
    query = parse_query(request, PageQuery)
    before = cursors.decode(query.cursor, int)
    stories = await request.app[LOOKUPS].customer_events(request[TENANT], request.match_info["customer_id"],
                                                         before and before[0], query.limit + 1)
    return json_response(cursors.page(stories, query.limit, present, lambda s: (s.entry.position,)))


@routes.get("/api/v1/triggers/{trigger_id}/stats")
@roles("admin", "editor")
async def trigger_stats(request: web.Request) -> web.Response:
    tenant_id, trigger_id = request[TENANT], request.match_info["trigger_id"]
    await request.app[BLOCKING](request.app[TRIGGERS].exists, tenant_id, trigger_id)
    stats = await request.app[LOOKUPS].trigger_stats(tenant_id, trigger_id)
    return json_response({
        "fired": stats.fired,
        "suppressed": {"cooldown": stats.cooldown, "frequency_capped": stats.frequency_capped},
        "delivered": stats.delivered,
        "retrying": stats.retrying,
        "dead": stats.dead,
        "lastFiredAt": iso_ms(stats.last_fired_at_ms) if stats.last_fired_at_ms else None,
    })


def present(story: EventStory) -> dict:
    logged = story.entry.event
    triggers = []
    for outcome in logged.outcomes:
        shown = {"triggerId": outcome.trigger_id, "triggerVersion": outcome.trigger_version,
                 "actionType": outcome.action_type, "outcome": outcome.outcome}
        fired = dispatch_id(logged.event_id, outcome.trigger_id)
        if fired in story.dispatch_statuses:
            shown.update(dispatchId=fired, dispatchStatus=story.dispatch_statuses[fired])
        triggers.append(shown)
    sequence = story.entry.stream_sequence
    return {"eventId": logged.event_id, "event": logged.body,
            "stream": {"published": sequence is not None, "sequence": sequence}, "triggers": triggers}
