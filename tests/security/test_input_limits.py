"""Hostile sizes and shapes are refused with 4xx and the standard error body, never a 500."""

import pytest

from interfaces.app import create_app
from tests.api import Caller, make_settings, random_tenant

LEAF = {"field": "amount", "operator": "greater_than", "value": 1}


def nested(levels: int) -> dict:
    document: dict = {"leaf": 1}
    for _ in range(levels):
        document = {"n": document}
    return document


def rule(**fields) -> dict:
    return {"name": "r", "eventType": "purchase", "actionType": "recommend",
            "actionConfig": {"decisionFlowId": "df_1"}, **fields}


@pytest.fixture
async def api(aiohttp_client, tmp_path) -> Caller:
    client = await aiohttp_client(create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/tripcord.db")))
    return Caller(client, random_tenant())


async def refused(api: Caller, status: int, method: str, path: str, **kwargs) -> dict:
    response = await api.request(method, path, **kwargs)
    body = await response.json()
    assert response.status == status, body
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


async def test_a_body_over_64_kib_is_413(api):
    event = {"type": "purchase", "customerId": "c1", "data": {"blob": "x" * (64 * 1024)}}
    error = await refused(api, 413, "POST", "/api/v1/events/ingest", json=event)
    assert error["code"] == "payload_too_large"


async def test_json_nested_deeper_than_32_levels_is_400(api):
    error = await refused(api, 400, "POST", "/api/v1/events/ingest",
                          json={"type": "purchase", "customerId": "c1", "data": nested(40)})
    assert "32" in error["message"]
    await api.json("POST", "/api/v1/events/ingest", json={"type": "purchase", "customerId": "c1", "data": nested(20)})


async def test_a_condition_over_256_nodes_is_400_on_create_and_update(api):
    huge = {"any": [LEAF] * 300}
    error = await refused(api, 400, "POST", "/api/v1/triggers", json=rule(condition=huge))
    assert "256" in error["message"]
    trigger = await api.json("POST", "/api/v1/triggers", expect=201, json=rule(condition={"any": [LEAF] * 200}))
    await refused(api, 400, "PUT", f"/api/v1/triggers/{trigger['id']}", json={"condition": huge})


async def test_a_condition_nested_deeper_than_8_is_400(api):
    condition = LEAF
    for _ in range(9):
        condition = {"not": condition}
    await refused(api, 400, "POST", "/api/v1/triggers", json=rule(condition=condition))


async def test_a_page_is_at_most_200_triggers(api):
    page = await api.json("GET", "/api/v1/triggers?limit=100000")
    assert page["pagination"]["limit"] == 200
    await refused(api, 400, "GET", "/api/v1/triggers?limit=100000000000000000")


@pytest.mark.parametrize("url", ["http://[", "http://[::1", "http://hooks.example.com:99999/x", "ftp://a/x",
                                 "http:///x", "//hooks.example.com/x"])
async def test_a_webhook_url_that_does_not_parse_is_400(api, url):
    error = await refused(api, 400, "POST", "/api/v1/triggers",
                          json=rule(actionType="webhook", actionConfig={"url": url}))
    assert error["details"][0]["path"] == "actionConfig.url"


@pytest.mark.parametrize("path, status", [
    ("/api/v1/dispatches?customerId=a%00b", 400), ("/api/v1/customers/c1/events?before=%00", 400),
    ("/api/v1/events/evt_%00", 404), ("/api/v1/customers/c%001/events", 404), ("/api/v1/dispatches/dsp_%00_x", 404)])
async def test_a_nul_character_in_the_url_is_a_4xx_not_a_database_error(api, path, status):
    error = await refused(api, status, "GET", path)
    assert "NUL" in error["message"]
    assert (await api.json("GET", "/api/v1/dispatches", params={"customerId": "a b"}))["data"] == []
