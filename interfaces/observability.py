"""Request ids, per-route metrics and structured (JSON) logs."""

import itertools
import logging
import secrets
import sys
import time

import orjson
from aiohttp import web

from interfaces.errors import answer_error, error_response
from interfaces.keys import ACCESS_LOG, METRICS, REQUEST_ID
from interfaces.security import authorize, needs_token


# Unique per process without a system call per request (os.urandom is slow on some VMs).
_request_ids = map(f"{secrets.token_hex(4)}{{:08x}}".format, itertools.count())


@web.middleware
async def middleware(request: web.Request, handler):
    """Everything around a handler, in one frame: the request id, the caller's token and tenant,
    the one error shape, the route's metrics and the access log line."""
    request_id = request.headers.get("X-Request-Id", "")[:64] or next(_request_ids)
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    try:
        if "%00" in request.raw_path:  # PostgreSQL text cannot hold NUL: answered here, not as a database error
            response = _nul_in(request.raw_path)
        else:
            response = authorize(request) if needs_token(request.path) else None
        if response is None:
            response = await handler(request)
    except Exception as error:  # answer_error raises again what is not an error (a redirect)
        response = answer_error(request, error)
    response.headers["X-Request-Id"] = request_id
    elapsed = time.perf_counter() - started
    route = request.match_info.route.resource
    name = route.canonical if route is not None else "unmatched"
    metrics = request.app[METRICS]
    metrics.request_count(request.method, name, str(response.status)).inc()
    metrics.request_latency(request.method, name).observe(elapsed)
    access_log = request.app[ACCESS_LOG]
    if access_log is not None:
        access_log.line(request.method, request.path, response.status, request_id, round(elapsed * 1000, 3))
    return response


def _nul_in(raw_path: str) -> web.Response:
    """No id holds a NUL character, so such a path names nothing (404, as any unknown id); a filter
    cannot hold one either (400)."""
    path, _, query = raw_path.partition("?")
    if "%00" in path:
        return error_response(404, "nothing here: no id holds a NUL character (%00)")
    return error_response(400, "a query parameter holds a NUL character (%00), which no filter can hold")


class AccessLog:
    """The access log: a JSON line per request, shaped as JsonFormatter shapes the other lines
    (logger "tripcord.access"), built and written without `logging`. Through a LogRecord and its
    handler the line cost single ingests 8–11 % of their throughput; this way, about half that
    (docs/PERFORMANCE.md). Lines go out BATCH_LINES at a time or at the next flush (the app
    flushes every FLUSH_EVERY_S, and when it stops)."""

    BATCH_LINES = 256
    FLUSH_EVERY_S = 0.2

    def __init__(self, stream=None):
        self.stream = stream  # None: sys.stderr when written, where the other log lines go
        self._lines: list[bytes] = []
        self._clock = JsonFormatter()

    def line(self, method: str, path: str, status: int, request_id: str, duration_ms: float) -> None:
        self._lines.append(orjson.dumps({
            "at": self._clock._time(time.time()), "level": "INFO", "logger": "tripcord.access",
            "message": f"{method} {path} {status}", "request_id": request_id, "status": status,
            "duration_ms": duration_ms}))
        if len(self._lines) >= self.BATCH_LINES:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            lines, self._lines = self._lines, []
            stream = self.stream or sys.stderr
            stream.write(b"\n".join(lines).decode() + "\n")
            stream.flush()


class JsonFormatter(logging.Formatter):
    """One JSON object per line, its time in ISO 8601 UTC with milliseconds.

    Written for the access log's pace, a line per request: orjson, and the time's text up to the
    second kept between lines. With the flags below, a line costs 13 µs instead of 26."""

    FIELDS = ("request_id", "status", "duration_ms", "error", "url")

    def __init__(self):
        super().__init__()
        self._second, self._second_text = -1, ""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"at": self._time(record.created), "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        fields = record.__dict__
        entry.update({k: fields[k] for k in self.FIELDS if k in fields})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second, self._second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{int((created - second) * 1000):03d}Z"


def configure_logging(level: str = "INFO") -> None:
    # Nothing we write names the caller, thread or process: skip looking them up for every record
    # (the logging HOWTO's "Optimization" section).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
