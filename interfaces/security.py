"""Authentication and authorisation: a bearer JWT, a tenant header, and a role per route."""

import re

from aiohttp import web

from infrastructure.auth import Unauthenticated
from interfaces.errors import error_response
from interfaces.keys import AUTHORITY, PRINCIPAL, TENANT

TENANT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json", "/api/v1/events/live"})  # the live stream takes a ticket


def roles(*allowed: str):
    """Marks a handler with the roles that may call it."""
    def mark(handler):
        handler.roles = frozenset(allowed)
        return handler
    return mark


def needs_token(path: str) -> bool:
    return path.startswith("/api/") and path not in PUBLIC_PATHS


def authorize(request: web.Request) -> web.Response | None:
    """Notes the caller and tenant on the request; or the answer refusing them."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized("missing bearer token in the Authorization header")
    try:
        principal = request.app[AUTHORITY].verify(token.strip())
    except Unauthenticated as error:
        return _unauthorized(str(error))
    tenant = request.headers.get("X-Tenant-Id")
    if tenant is None:
        return error_response(400, "the X-Tenant-Id header is required", code="missing_tenant")
    if not TENANT_ID.match(tenant):
        return error_response(400, "X-Tenant-Id must match ^[A-Za-z0-9_-]{1,64}$", code="invalid_tenant")
    if not principal.may_access(tenant):
        return error_response(403, f"the token does not grant tenant {tenant}")
    allowed = getattr(request.match_info.handler, "roles", None)
    if allowed is not None and not allowed & principal.roles:
        return error_response(403, f"this operation needs one of the roles: {', '.join(sorted(allowed))}")
    request[PRINCIPAL] = principal
    request[TENANT] = tenant
    return None


def _unauthorized(message: str) -> web.Response:
    return error_response(401, message, headers={"WWW-Authenticate": "Bearer"})
