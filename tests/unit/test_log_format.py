import io
import json
import logging
import re
import sys

from interfaces.observability import AccessLog, JsonFormatter


def record(message="POST %s %s", args=("/api/v1/events/ingest", 200), created=1795000000.0456, **extra):
    entry = logging.LogRecord("tripcord.access", logging.INFO, __file__, 1, message, args, None)
    entry.created = created
    entry.__dict__.update(extra)
    return entry


def test_a_line_is_one_json_object_with_the_time_in_utc_and_milliseconds():
    line = JsonFormatter().format(record(request_id="ab12", status=200, duration_ms=1.25, secret="not a field"))
    assert "\n" not in line
    assert json.loads(line) == {"at": "2026-11-18T11:06:40.045Z", "level": "INFO", "logger": "tripcord.access",
                                "message": "POST /api/v1/events/ingest 200", "request_id": "ab12", "status": 200,
                                "duration_ms": 1.25}


def test_lines_within_one_second_keep_their_own_milliseconds():
    formatter = JsonFormatter()
    times = [json.loads(formatter.format(record(created=1795000000 + ms / 1000)))["at"] for ms in (0, 999, 1000)]
    assert times == ["2026-11-18T11:06:40.000Z", "2026-11-18T11:06:40.999Z", "2026-11-18T11:06:41.000Z"]


def test_an_exception_and_a_value_json_cannot_hold_are_written_as_text():
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        entry = record("failed", (), error=ValueError("the stream is down"))
        entry.exc_info = sys.exc_info()
    logged = json.loads(JsonFormatter().format(entry))
    assert logged["error"] == "the stream is down"
    assert re.search(r"ZeroDivisionError: boom$", logged["exception"])


def test_an_access_line_has_the_shape_of_every_other_line():
    access_log = AccessLog(io.StringIO())
    access_log.line("POST", "/api/v1/events/ingest", 200, "ab12", 1.25)
    access_log.flush()

    written = json.loads(access_log.stream.getvalue())
    formatted = json.loads(JsonFormatter().format(record(request_id="ab12", status=200, duration_ms=1.25)))
    assert written.keys() == formatted.keys()
    assert {k: v for k, v in written.items() if k != "at"} == {k: v for k, v in formatted.items() if k != "at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", written["at"])


def test_access_lines_wait_for_a_flush_or_a_full_batch():
    access_log = AccessLog(io.StringIO())
    access_log.line("GET", "/a", 200, "r0", 1.0)
    waiting = access_log.stream.getvalue()
    access_log.flush()
    flushed = access_log.stream.getvalue()
    for n in range(AccessLog.BATCH_LINES):
        access_log.line("GET", "/a", 200, f"r{n + 1}", 1.0)

    assert waiting == "" and len(flushed.splitlines()) == 1
    assert len(access_log.stream.getvalue().splitlines()) == 1 + AccessLog.BATCH_LINES
