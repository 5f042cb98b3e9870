"""One error shape for every failure: {"error": {"code", "message", "details"}}, never a trace."""

import errno
import logging

from aiohttp import web
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from application.dispatches import DispatchNotFound, ResendRefused
from application.ingestion import Contention, NotRecorded
from application.lookups import EventNotFound
from application.ports import DataRejected
from application.repeats import KeyReused, RequestInProgress
from application.settings_services import SchemaNotFound
from application.triggers import TooManyTriggers, TriggerNotFound, VersionConflict
from domain.errors import InvalidTrigger
from domain.trigger import TriggerDeleted
from interfaces.keys import REQUEST_ID

log = logging.getLogger("tripcord.http")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 422: "unprocessable", 429: "rate_limited", 500: "internal_error",
         503: "unavailable"}
RETRY_SOON = {"Retry-After": "1"}


def error_response(status: int, message: str, details: list | None = None, code: str | None = None,
                   headers: dict | None = None) -> web.Response:
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "details": details or []}}
    return web.json_response(body, status=status, headers=headers)


def validation_details(error: ValidationError) -> list[dict]:
    return [{"path": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)]


def answer_for(error: Exception) -> web.Response | None:
    """The answer to an error the application or the domain raises on purpose; None for any other."""
    described = describe(error)
    if described is None:
        return None
    status, code, message, details, headers = described
    return error_response(status, message, details, code, headers)


def describe(error: Exception) -> tuple[int, str, str, list, dict | None] | None:
    """(status, code, message, details, headers) of an error raised on purpose; None for any other."""
    if isinstance(error, ValidationError):
        return 400, "validation_error", "the request is not valid", validation_details(error), None
    if isinstance(error, InvalidTrigger):
        return 400, "validation_error", str(error), error.details, None
    if isinstance(error, DataRejected):
        return 400, "validation_error", f"the event's data breaks its schema: {error}", error.details, None
    if isinstance(error, (TriggerNotFound, TriggerDeleted)):
        return 404, "not_found", f"trigger {error.args[0]} not found", [], None
    if isinstance(error, DispatchNotFound):
        return 404, "not_found", f"dispatch {error.args[0]} not found", [], None
    if isinstance(error, EventNotFound):
        return 404, "not_found", f"event {error.args[0]} not found", [], None
    if isinstance(error, SchemaNotFound):
        return 404, "not_found", f"no schema for {error.args[0]}", [], None
    if isinstance(error, VersionConflict):
        return 409, "version_conflict", str(error), [], None
    if isinstance(error, TooManyTriggers):
        return 409, "limit_reached", str(error), [], None
    if isinstance(error, ResendRefused):
        return 409, "not_resendable", str(error), [], None
    if isinstance(error, RequestInProgress):
        return 409, "request_in_progress", str(error), [], {"Retry-After": str(error.retry_after_s)}
    if isinstance(error, KeyReused):
        return 422, "idempotency_key_reused", "this key was first used with another body", [], None
    if isinstance(error, (Contention, IntegrityError)):  # optimistic concurrency that outlasted the retries
        return 409, "concurrent_change", "concurrent requests for the same records clashed; retry shortly", [], \
            RETRY_SOON
    if isinstance(error, NotRecorded):
        return 503, "database_unavailable", str(error), [], RETRY_SOON
    return None


def answer_error(request: web.Request, error: Exception) -> web.Response:
    """The one error shape for whatever a handler raised; raises again what is not an error (a redirect)."""
    if isinstance(error, web.HTTPException):
        if error.status < 400:
            raise error
        message = error.text if error.text and not error.text.startswith(str(error.status)) else error.reason
        return error_response(error.status, message, headers={k: v for k, v in error.headers.items()
                                                              if k.lower() in ("allow", "retry-after")})
    if isinstance(error, (OperationalError, InterfaceError, DBAPIError)):
        log.warning("database unavailable", extra={"request_id": request.get(REQUEST_ID), "error": str(error)})
        return error_response(503, "the database is unavailable; retry shortly", code="database_unavailable",
                              headers=RETRY_SOON)
    if isinstance(error, OSError):  # not the database's: say what did fail, without paths or data
        what = errno.errorcode.get(error.errno, type(error).__name__) if error.errno else type(error).__name__
        log.warning("system call failed", extra={"request_id": request.get(REQUEST_ID), "error": repr(error)})
        return error_response(503, f"the service could not complete the request: a system call failed ({what})",
                              code="system_error", headers=RETRY_SOON)
    answer = answer_for(error)
    if answer is not None:
        return answer
    log.error("unhandled error", exc_info=error, extra={"request_id": request.get(REQUEST_ID)})
    return error_response(500, "internal error; it has been logged")
