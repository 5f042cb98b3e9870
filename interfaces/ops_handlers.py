"""Liveness, readiness, metrics and the OpenAPI document: no tenant, no JWT."""

import hmac

from aiohttp import web

from interfaces.errors import error_response
from interfaces.keys import BLOCKING, DATABASE, METRICS, SETTINGS, STREAM_STATUS
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
        await request.app[BLOCKING](request.app[DATABASE].ping)
    except Exception as error:
        checks["database"] = f"unavailable: {type(error).__name__}"
    ready = checks["database"] == "ok" and checks["stream"] in ("ok", "disabled")
    return json_response({"status": "ready" if ready else "not ready", "checks": checks},
                         status=200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    expected = request.app[SETTINGS].metrics_token
    if expected is not None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
            return error_response(401, "/metrics needs Authorization: Bearer $TRIPCORD_METRICS_TOKEN",
                                  headers={"WWW-Authenticate": "Bearer"})
    return web.Response(body=request.app[METRICS].exposition(),
                        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document())
