"""One error shape for every failure: {"error": {"code", "message", "details"}}, never a trace."""

import logging

from aiohttp import web
from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from application.triggers import TriggerNotFound, VersionConflict
from domain.errors import InvalidTrigger
from domain.trigger import TriggerDeleted
from interfaces.keys import REQUEST_ID

log = logging.getLogger("tripcord.http")

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
         415: "unsupported_media_type", 500: "internal_error", 503: "unavailable"}


def error_response(status: int, message: str, details: list | None = None, code: str | None = None,
                   headers: dict | None = None) -> web.Response:
    body = {"error": {"code": code or CODES.get(status, "error"), "message": message, "details": details or []}}
    return web.json_response(body, status=status, headers=headers)


def validation_details(error: ValidationError) -> list[dict]:
    return [{"path": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in error.errors(include_url=False, include_input=False)]


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except ValidationError as error:
        return error_response(400, "the request is not valid", validation_details(error), "validation_error")
    except InvalidTrigger as error:
        return error_response(400, str(error), error.details, "validation_error")
    except (TriggerNotFound, TriggerDeleted) as error:
        return error_response(404, f"trigger {error.args[0]} not found")
    except VersionConflict as error:
        return error_response(409, str(error), code="version_conflict")
    except web.HTTPException as error:
        if error.status < 400:
            raise
        message = error.text if error.text and not error.text.startswith(str(error.status)) else error.reason
        return error_response(error.status, message, headers={k: v for k, v in error.headers.items()
                                                              if k.lower() == "allow"})
    except (OperationalError, InterfaceError, DBAPIError, ConnectionError, OSError) as error:
        log.warning("database unavailable", extra={"request_id": request.get(REQUEST_ID), "error": str(error)})
        return error_response(503, "the database is unavailable; retry shortly", code="database_unavailable",
                              headers={"Retry-After": "1"})
    except Exception:
        log.exception("unhandled error", extra={"request_id": request.get(REQUEST_ID)})
        return error_response(500, "internal error; it has been logged")
