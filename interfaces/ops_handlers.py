"""Liveness, readiness, metrics and the OpenAPI document: no authentication."""

from aiohttp import web

from interfaces.blocking import blocking
from interfaces.keys import METRICS, STORAGE, STREAM_STATUS
from interfaces.openapi import openapi_document
from interfaces.request_body import json_response

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = {"database": "ok", "stream": request.app[STREAM_STATUS]["state"]}
    try:
        await blocking(request.app, request.app[STORAGE].ping)
    except Exception as error:
        checks["database"] = f"unavailable: {type(error).__name__}"
    ready = checks["database"] == "ok" and checks["stream"] in ("ok", "disabled")
    return json_response({"status": "ready" if ready else "not ready", "checks": checks},
                         status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=request.app[METRICS].exposition(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())
