"""Request ids, per-route metrics and structured (JSON) logs."""

import itertools
import json
import logging
import secrets
import time

from aiohttp import web

from interfaces.keys import METRICS, REQUEST_ID, SETTINGS


access = logging.getLogger("tripcord.access")
# Unique per process without a system call per request (os.urandom is slow on some VMs).
_request_ids = map(f"{secrets.token_hex(4)}{{:08x}}".format, itertools.count())


@web.middleware
async def request_context_middleware(request: web.Request, handler):
    request_id = request.headers.get("X-Request-Id", "")[:64] or next(_request_ids)
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "unmatched"
        elapsed = time.perf_counter() - started
        metrics = request.app[METRICS]
        metrics.request_count(request.method, name, str(status)).inc()
        metrics.request_latency(request.method, name).observe(elapsed)
        if request.app[SETTINGS].access_log:
            access.info("%s %s %s", request.method, request.path, status, extra={
                "request_id": request_id, "status": status, "duration_ms": round(elapsed * 1000, 3)})


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "status", "duration_ms", "error", "url")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self.formatTime(record), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
