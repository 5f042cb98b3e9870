import io
import json

from interfaces.keys import ACCESS_LOG
from tests.api import HIGH_VALUE


async def test_seed_example_creates_a_trigger_and_lists_it(api):
    created = await api.json("POST", "/api/v1/triggers", json=HIGH_VALUE, expect=201)

    listed = await api.json("GET", "/api/v1/triggers")

    assert created["id"].startswith("tr_") and created["version"] == 1
    assert listed["data"] == [created]
    assert listed["pagination"] == {"total": 1, "limit": 50, "offset": 0, "hasMore": False}


async def test_each_request_is_logged_as_structured_data_with_its_request_id(api):
    access_log = api.client.app[ACCESS_LOG]
    access_log.stream = written = io.StringIO()

    response = await api.request("GET", "/api/v1/triggers", headers={"X-Request-Id": "req-42"})
    access_log.flush()

    assert response.headers["X-Request-Id"] == "req-42"
    [line] = [json.loads(line) for line in written.getvalue().splitlines()]
    assert (line["logger"], line["level"], line["request_id"], line["status"], line["message"]) == (
        "tripcord.access", "INFO", "req-42", 200, "GET /api/v1/triggers 200")
    assert line["duration_ms"] > 0 and line["at"].endswith("Z")
