"""HTTP handlers of a tenant's settings: event schemas and frequency caps, with their history."""

from aiohttp import web

from interfaces.keys import BLOCKING, PRINCIPAL, SETTINGS_SERVICE, TENANT
from interfaces.request_body import json_response, read_json
from interfaces.schemas import iso
from interfaces.security import roles

routes = web.RouteTableDef()
SCHEMAS = "/api/v1/event-schemas"
CAPS = "/api/v1/settings/frequency-caps"


async def _call(request: web.Request, method: str, *args):
    service = request.app[SETTINGS_SERVICE]
    return await request.app[BLOCKING](getattr(service, method), request[TENANT], *args)


@routes.get(SCHEMAS)
@roles("admin", "editor")
async def list_schemas(request: web.Request) -> web.Response:
    return json_response({"data": [present_schema(row) for row in await _call(request, "schemas")]})


@routes.get(SCHEMAS + "/{event_type}")
@roles("admin", "editor")
async def get_schema(request: web.Request) -> web.Response:
    return json_response(present_schema(await _call(request, "schema", request.match_info["event_type"])))


@routes.put(SCHEMAS + "/{event_type}")
@roles("admin")
async def put_schema(request: web.Request) -> web.Response:
    schema = await read_json(request, dict)
    row, created = await _call(request, "put_schema", request.match_info["event_type"], schema,
                               request[PRINCIPAL].subject)
    return json_response(present_schema(row), status=201 if created else 200)


@routes.delete(SCHEMAS + "/{event_type}")
@roles("admin")
async def delete_schema(request: web.Request) -> web.Response:
    await _call(request, "remove_schema", request.match_info["event_type"], request[PRINCIPAL].subject)
    return web.Response(status=204)


@routes.get(SCHEMAS + "/{event_type}/history")
@roles("admin", "editor")
async def schema_history(request: web.Request) -> web.Response:
    return json_response({"data": _history(await _call(request, "schema_history", request.match_info["event_type"]))})


@routes.get(CAPS)
@roles("admin", "editor")
async def get_caps(request: web.Request) -> web.Response:
    return json_response(await _call(request, "caps"))


@routes.put(CAPS)
@roles("admin")
async def put_caps(request: web.Request) -> web.Response:
    caps = await read_json(request, list)
    return json_response(await _call(request, "put_caps", caps, request[PRINCIPAL].subject))


@routes.get(CAPS + "/history")
@roles("admin", "editor")
async def caps_history(request: web.Request) -> web.Response:
    return json_response({"data": _history(await _call(request, "caps_history"))})


def present_schema(row: dict) -> dict:
    return {"eventType": row["name"], "schema": row["document"], "version": row["version"],
            "updatedAt": iso(row["updated_at"])}


def _history(entries: list[dict]) -> list[dict]:
    return [{**entry, "at": iso(entry["at"])} for entry in entries]

