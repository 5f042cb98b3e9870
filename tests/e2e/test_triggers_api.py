"""The Triggers API (seed 002) as a user sees it, on SQLite and on PostgreSQL."""

import asyncio
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from interfaces.keys import TRIGGERS
from interfaces.schemas import TriggerCreate
from tests.api import HIGH_VALUE, Caller

TRIGGERS_PATH = "/api/v1/triggers"
ISO_MILLIS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # as the seed: 2026-02-20T10:00:00.000Z
LEAKY_SECRET = "whsec_" + "ZG8tbm90LWxlYWstdGhpcy1zZWNyZXQtZXZlcg=="  # base64 of 29 bytes
LEAKY_HEADER = "Bearer receiver-key-do-not-leak"
WEBHOOK = {"name": "Notify CRM", "eventType": "purchase", "actionType": "webhook",
           "actionConfig": {"url": "https://hooks.example.com/in", "headers": {"Authorization": LEAKY_HEADER},
                            "secret": LEAKY_SECRET}}
GARBAGE_IDS = ["tr_000000000000000000000000", "nope", "x" * 1500, "%00", "tr_%00x", "tr_ünïcødé", "%F0%9F%92%A5",
               "tr_%2Fetc", "'; DROP TABLE tripcord_events; --"]


async def create(api: Caller, **overrides) -> dict:
    return await api.json("POST", TRIGGERS_PATH, json={**HIGH_VALUE, **overrides}, expect=201)


async def error(api: Caller, method: str, path: str, status: int, **kwargs) -> dict:
    """The error body, after checking the status and the one error shape."""
    response = await api.request(method, path, **kwargs)
    text = await response.text()
    assert response.status == status, (response.status, text)
    body = await response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert isinstance(body["error"]["details"], list) and "Traceback" not in text
    return body["error"]


def paths_of(details: list[dict]) -> list[str]:
    return [d["path"] for d in details]


def create_many(api: Caller, count: int) -> None:
    triggers = api.client.app[TRIGGERS]
    for n in range(count):
        triggers.create(api.tenant, {"name": f"bulk {n}", "event_type": "page_view", "action_type": "recommend",
                                     "action_config": {"decisionFlowId": "df"}}, "bulk")


# -- create, get, versions ----------------------------------------------------------------


async def test_create_the_seed_example(api):
    created = await create(api)

    assert {k: created[k] for k in HIGH_VALUE} == HIGH_VALUE
    assert created["id"].startswith("tr_") and created["version"] == 1
    assert (created["description"], created["status"]) == ("", "active")
    assert created["createdAt"] == created["updatedAt"] and ISO_MILLIS.fullmatch(created["createdAt"])


async def test_create_applies_defaults_and_normalises_the_action_type(api):
    created = await api.json("POST", TRIGGERS_PATH, expect=201, json={
        "name": "Welcome", "eventType": "app_open", "actionType": "journey_enroll",
        "actionConfig": {"journeyId": "j_welcome"}})

    assert (created["actionType"], created["priority"], created["cooldownMs"], created["status"],
            created["condition"]) == ("enroll_journey", 50, 0, "active", None)


async def test_get_by_id(api):
    created = await create(api)

    assert await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}") == created


async def test_get_a_past_version(api):
    created = await create(api)
    await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={"name": "Renamed"})

    assert await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}?version=1") == created
    assert (await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}?version=2"))["name"] == "Renamed"


@pytest.mark.parametrize("version", ["0", "-1", "--1", "abc", "1.5", "", "99999999999999999999", "%C2%B9"])
async def test_get_a_malformed_version(api, version):
    created = await create(api)

    await error(api, "GET", f"{TRIGGERS_PATH}/{created['id']}?version={version}", 400)


async def test_get_a_version_that_does_not_exist(api):
    created = await create(api)

    await error(api, "GET", f"{TRIGGERS_PATH}/{created['id']}?version=99", 404)


# -- update -------------------------------------------------------------------------------


async def test_update_changes_only_the_given_fields(api):
    created = await create(api)

    updated = await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={"priority": 90, "cooldownMs": 0})

    assert updated == {**created, "priority": 90, "cooldownMs": 0, "version": 2, "updatedAt": updated["updatedAt"]}
    assert updated["updatedAt"] > created["updatedAt"] and updated["createdAt"] == created["createdAt"]
    assert await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}") == updated


async def test_update_status_condition_and_action(api):
    created = await create(api)
    change = {"status": "paused", "condition": None, "actionType": "webhook", "description": "moved",
              "actionConfig": {"url": "http://hooks.example.com/x", "method": "put"}, "eventType": "outcome.recorded"}

    updated = await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json=change)

    assert updated == {**created, **change, "actionConfig": {"url": "http://hooks.example.com/x", "method": "PUT",
                                                              "headers": {}},
                       "version": 3, "updatedAt": updated["updatedAt"]}


async def test_update_with_nothing_to_change_keeps_the_version(api):
    created = await create(api)

    assert await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={}) == created


async def test_update_with_the_current_version(api):
    created = await create(api)

    updated = await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={"name": "Next", "version": 1})

    assert updated["version"] == 2


async def test_update_with_a_stale_version_conflicts(api):
    created = await create(api)
    await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={"name": "First"})

    problem = await error(api, "PUT", f"{TRIGGERS_PATH}/{created['id']}", 409, json={"name": "Second", "version": 1})

    assert problem["code"] == "version_conflict"
    assert (await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}"))["name"] == "First"


@pytest.mark.parametrize("body, path", [
    ({"name": None}, "name"), ({"name": ""}, "name"), ({"priority": "90"}, "priority"),
    ({"priority": True}, "priority"), ({"cooldownMs": -1}, "cooldownMs"), ({"status": "deleted"}, "status"),
    ({"eventType": "Purchase"}, "eventType"), ({"version": 0}, "version"), ({"enabled": True}, "enabled"),
    ({"actionType": "webhook"}, "actionConfig.journeyId"), ({"actionConfig": {"journeyId": 1}},
                                                            "actionConfig.journeyId"),
    ({"condition": {"any": [{"field": "a", "operator": "equals"}]}}, "condition.any[0].value"),
])
async def test_update_with_an_invalid_body(api, body, path):
    created = await create(api)

    problem = await error(api, "PUT", f"{TRIGGERS_PATH}/{created['id']}", 400, json=body)

    assert paths_of(problem["details"]) == [path]
    assert await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}") == created


# -- delete and history -------------------------------------------------------------------


async def test_delete_then_get_is_not_found_but_history_remains(api):
    created = await create(api)

    response = await api.request("DELETE", f"{TRIGGERS_PATH}/{created['id']}")

    assert response.status == 204 and await response.read() == b""
    await error(api, "GET", f"{TRIGGERS_PATH}/{created['id']}", 404)
    history = await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}/history")
    assert [e["change"] for e in history["data"]] == ["created", "deleted"]
    assert (await api.json("GET", TRIGGERS_PATH))["data"] == []


@pytest.mark.parametrize("method, suffix, body", [
    ("DELETE", "", None), ("PUT", "", {"name": "Back"}), ("POST", "/test", {"eventPayload": {}}),
])
async def test_a_deleted_trigger_cannot_be_changed_or_tested(api, method, suffix, body):
    created = await create(api)
    await api.json("DELETE", f"{TRIGGERS_PATH}/{created['id']}", expect=204)

    await error(api, method, f"{TRIGGERS_PATH}/{created['id']}{suffix}", 404, json=body)


async def test_history_lists_every_change_with_the_callers_sub(api):
    created = await create(api)
    path = f"{TRIGGERS_PATH}/{created['id']}"
    await Caller(api.client, api.tenant, ("editor",), "alice@example.com").json(
        "PUT", path, json={"name": "Renamed", "priority": 80})
    await Caller(api.client, api.tenant, ("editor",), "bob").json("PUT", path, json={"status": "paused"})
    await api.json("PUT", path, json={"status": "active"})
    await api.json("DELETE", path, expect=204)

    history = (await api.json("GET", f"{path}/history"))["data"]

    assert all(set(e) == {"version", "change", "at", "actor", "fields"} for e in history)
    assert [(e["version"], e["change"], e["actor"]) for e in history] == [
        (1, "created", "tester"), (2, "updated", "alice@example.com"), (3, "paused", "bob"),
        (4, "activated", "tester"), (5, "deleted", "tester")]
    assert history[0]["fields"] == {**HIGH_VALUE, "description": "", "status": "active",
                                    "ignoreFrequencyCaps": False}
    assert [e["fields"] for e in history[1:]] == [{"name": "Renamed"}, {}, {}, {}]
    assert history[0]["at"] == created["createdAt"] and all(ISO_MILLIS.fullmatch(e["at"]) for e in history)


# -- listing ------------------------------------------------------------------------------


async def test_listing_is_by_priority_then_oldest_first(api):
    made = [await create(api, name=f"t{n}", priority=p) for n, p in enumerate([50, 80, 50, 10, 80, 50])]

    listed = await api.json("GET", TRIGGERS_PATH)

    assert [t["name"] for t in listed["data"]] == ["t1", "t4", "t0", "t2", "t5", "t3"]
    assert sorted(listed["data"], key=lambda t: t["id"]) == sorted(made, key=lambda t: t["id"])


async def test_listing_filters_by_status_and_event_type(api):
    purchase = await create(api)
    page_view = await create(api, eventType="page_view")
    paused = await create(api, eventType="page_view", status="paused")

    async def names(query: str) -> list[str]:
        return [t["id"] for t in (await api.json("GET", f"{TRIGGERS_PATH}?{query}"))["data"]]

    assert await names("status=active") == [purchase["id"], page_view["id"]]
    assert await names("status=paused") == [paused["id"]]
    assert await names("eventType=page_view") == [page_view["id"], paused["id"]]
    assert await names("eventType=page_view&status=active") == [page_view["id"]]
    assert await names("eventType=cart_abandon") == []


async def test_listing_reflects_updates(api):
    low = await create(api, priority=1)
    await create(api, priority=50)
    await api.json("PUT", f"{TRIGGERS_PATH}/{low['id']}", json={"priority": 99, "status": "paused"})

    listed = await api.json("GET", TRIGGERS_PATH)

    assert listed["data"][0] == await api.json("GET", f"{TRIGGERS_PATH}/{low['id']}")


async def test_listing_pages(api):
    await asyncio.to_thread(create_many, api, 201)

    default = await api.json("GET", TRIGGERS_PATH)
    capped = await api.json("GET", f"{TRIGGERS_PATH}?limit=500")
    rest = await api.json("GET", f"{TRIGGERS_PATH}?limit=500&offset=200")
    window = await api.json("GET", f"{TRIGGERS_PATH}?limit=3&offset=10")

    assert len(default["data"]) == 50
    assert default["pagination"] == {"total": 201, "limit": 50, "offset": 0, "hasMore": True}
    assert len(capped["data"]) == 200
    assert capped["pagination"] == {"total": 201, "limit": 200, "offset": 0, "hasMore": True}
    assert [t["name"] for t in rest["data"]] == ["bulk 200"]
    assert rest["pagination"] == {"total": 201, "limit": 200, "offset": 200, "hasMore": False}
    assert [t["name"] for t in window["data"]] == ["bulk 10", "bulk 11", "bulk 12"]
    assert window["pagination"] == {"total": 201, "limit": 3, "offset": 10, "hasMore": True}


@pytest.mark.parametrize("offset", [5, 2**53 - 1])
async def test_listing_past_the_end(api, offset):
    await create(api)

    listed = await api.json("GET", f"{TRIGGERS_PATH}?offset={offset}&limit={2**53 - 1}")

    assert listed == {"data": [], "pagination": {"total": 1, "limit": 200, "offset": offset, "hasMore": False}}


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=-1", "limit=1.5", "offset=-1", "offset=x",
                                   "status=deleted", "sort=name", "limit=99999999999999999999",
                                   "eventType=" + "a" * 101, "eventType=Purchase", "eventType=a%00b",
                                   "limit=--5", "limit=%C2%B2", "limit=%D9%A3", "limit=", "offset=-"])
async def test_listing_with_malformed_query(api, query):
    await error(api, "GET", f"{TRIGGERS_PATH}?{query}", 400)


# -- dry run ------------------------------------------------------------------------------


async def test_dry_run_that_would_fire(api):
    created = await create(api)

    result = await api.json("POST", f"{TRIGGERS_PATH}/{created['id']}/test", json={"eventPayload": {"amount": 750}})

    assert result == {"wouldFire": True, "reason": "All conditions matched", "trace": [{
        "path": "condition", "field": "amount", "operator": "greater_than", "expected": 500, "actual": 750,
        "found": True, "matched": True, "reason": "amount: 750 is greater than 500"}],
        "renderedConfig": {"journeyId": "journey_001"}, "heldBy": None}


async def test_dry_run_that_would_not_fire(api):
    created = await create(api)

    result = await api.json("POST", f"{TRIGGERS_PATH}/{created['id']}/test", json={"eventPayload": {"amount": 12}})

    assert (result["wouldFire"], result["reason"]) == (False, "amount: 12 is not greater than 500")
    assert result["trace"][0]["actual"] == 12 and result["trace"][0]["matched"] is False


async def test_dry_run_uses_the_envelope_and_checks_the_type(api):
    created = await create(api, condition={"all": [{"field": "$channel", "operator": "equals", "value": "web"},
                                                   {"field": "amount", "operator": "exists"}]})
    path = f"{TRIGGERS_PATH}/{created['id']}/test"

    fires = await api.json("POST", path, json={"eventPayload": {"amount": 1}, "channel": "web", "type": "purchase"})
    wrong_type = await api.json("POST", path, json={"eventPayload": {"amount": 1}, "channel": "web",
                                                    "type": "page_view"})

    assert fires["wouldFire"] is True and [leaf["matched"] for leaf in fires["trace"]] == [True, True]
    assert wrong_type == {**fires, "wouldFire": False, "reason": "Trigger listens to purchase, not page_view"}


async def test_dry_run_of_a_paused_trigger(api):
    created = await create(api, status="paused")

    result = await api.json("POST", f"{TRIGGERS_PATH}/{created['id']}/test", json={"eventPayload": {"amount": 750}})

    assert (result["wouldFire"], result["reason"]) == (False, "Trigger is paused")


async def test_dry_run_changes_nothing(api):
    created = await create(api, cooldownMs=0)
    path = f"{TRIGGERS_PATH}/{created['id']}"
    before = (await api.json("GET", TRIGGERS_PATH), await api.json("GET", f"{path}/history"))

    for _ in range(3):
        await api.json("POST", f"{path}/test", json={"eventPayload": {"amount": 750}})

    assert await api.json("GET", path) == created
    assert (await api.json("GET", TRIGGERS_PATH), await api.json("GET", f"{path}/history")) == before


@pytest.mark.parametrize("body, path", [
    ({}, "eventPayload"), ({"eventPayload": [1]}, "eventPayload"), ({"eventPayload": "x"}, "eventPayload"),
    ({"eventPayload": {}, "type": 5}, "type"), ({"eventPayload": {}, "extra": 1}, "extra"),
])
async def test_dry_run_with_an_invalid_body(api, body, path):
    created = await create(api)

    problem = await error(api, "POST", f"{TRIGGERS_PATH}/{created['id']}/test", 400, json=body)

    assert paths_of(problem["details"]) == [path]


# -- the webhook secret is write-only -----------------------------------------------------


async def test_webhook_secret_is_never_returned(api):
    response = await api.request("POST", TRIGGERS_PATH, json=WEBHOOK)
    created = await response.json()
    path = f"{TRIGGERS_PATH}/{created['id']}"

    responses = [response, await api.request("GET", path), await api.request("GET", TRIGGERS_PATH),
                 await api.request("PUT", path, json={"name": "Renamed"}),
                 await api.request("GET", f"{path}?version=1"), await api.request("GET", f"{path}/history")]

    assert [r.status for r in responses] == [201, 200, 200, 200, 200, 200]
    assert [LEAKY_SECRET in await r.text() or "receiver-key" in await r.text() for r in responses] == [False] * 6
    assert created["actionConfig"] == {"url": "https://hooks.example.com/in", "method": "POST",
                                       "headers": {"Authorization": "********"}}
    history = (await responses[-1].json())["data"]
    assert history[0]["fields"]["actionConfig"]["secret"] == "********"
    assert history[0]["fields"]["actionConfig"]["headers"] == {"Authorization": "********"}


async def test_webhook_secret_in_an_update_is_redacted_in_history(api):
    created = await api.json("POST", TRIGGERS_PATH, json=WEBHOOK, expect=201)
    config = {"url": "https://hooks.example.com/v2", "secret": "a-rotated-secret-of-24-characters"}

    updated = await api.json("PUT", f"{TRIGGERS_PATH}/{created['id']}", json={"actionConfig": config})
    history = (await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}/history"))["data"]

    assert updated["actionConfig"] == {"url": "https://hooks.example.com/v2", "method": "POST", "headers": {}}
    assert history[1]["fields"] == {"actionConfig": {**updated["actionConfig"], "secret": "********"}}


# -- malformed requests -------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"{not json", b"", b"\xff\xfe", b"[]", b'[{"name": "x"}]', b"null", b"42",
                                  b'"text"', b"[" * 40 + b"]" * 40])
async def test_create_with_a_body_that_is_not_a_json_object(api, data):
    await error(api, "POST", TRIGGERS_PATH, 400, data=data, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("override, path", [
    ({"name": 5}, "name"), ({"name": ""}, "name"), ({"name": "n" * 201}, "name"), ({"priority": "80"}, "priority"),
    ({"priority": 1.5}, "priority"), ({"priority": False}, "priority"), ({"priority": 2**53}, "priority"),
    ({"cooldownMs": -1}, "cooldownMs"), ({"cooldownMs": "0"}, "cooldownMs"), ({"status": "on"}, "status"),
    ({"actionType": "email"}, "actionType"), ({"actionConfig": ["journeyId"]}, "actionConfig"),
    ({"condition": "amount > 500"}, "condition"), ({"eventType": "Purchase"}, "eventType"),
    ({"eventType": "purchase!"}, "eventType"), ({"description": None}, "description"),
    ({"name": "a\x00b"}, "name"), ({"description": "\x00"}, "description"),
    ({"bogus": 1}, "bogus"), ({"id": "tr_mine"}, "id"), ({"version": 3}, "version"),
])
async def test_create_with_a_wrong_field(api, override, path):
    problem = await error(api, "POST", TRIGGERS_PATH, 400, json={**HIGH_VALUE, **override})

    assert problem["code"] == "validation_error" and paths_of(problem["details"]) == [path]


@pytest.mark.parametrize("missing", ["name", "eventType", "actionType"])
async def test_create_without_a_required_field(api, missing):
    body = {k: v for k, v in HIGH_VALUE.items() if k != missing}

    problem = await error(api, "POST", TRIGGERS_PATH, 400, json=body)

    assert paths_of(problem["details"]) == [missing]


@pytest.mark.parametrize("override, path", [
    ({"actionConfig": {}}, "actionConfig.journeyId"),
    ({"actionConfig": {"journeyId": "j", "extra": "x"}}, "actionConfig.extra"),
    ({"actionType": "webhook", "actionConfig": {"url": "ftp://example.com"}}, "actionConfig.url"),
    ({"actionType": "webhook", "actionConfig": {"url": "https://example.com", "method": "TRACE"}},
     "actionConfig.method"),
    ({"actionType": "recommend", "actionConfig": {"journeyId": "j"}}, "actionConfig.journeyId"),
])
async def test_create_with_a_wrong_action_config(api, override, path):
    problem = await error(api, "POST", TRIGGERS_PATH, 400, json={**HIGH_VALUE, **override})

    assert paths_of(problem["details"]) == [path]


@pytest.mark.parametrize("condition, paths", [
    ({"all": [{"field": "amount", "operator": "bigger", "value": 1}]}, ["condition.all[0].operator"]),
    ({"field": "amount", "operator": "between", "value": [5, 1]}, ["condition.value"]),
    ({"any": [{"field": "a", "operator": "in", "value": []}, {"nope": 1}]},
     ["condition.any[0].value", "condition.any[1].nope", "condition.any[1]"]),
    ({"not": {"field": "$nope", "operator": "exists"}}, ["condition.not.field"]),
    ({"all": []}, ["condition.all"]),
])
async def test_create_with_a_bad_condition_names_the_path(api, condition, paths):
    problem = await error(api, "POST", TRIGGERS_PATH, 400, json={**HIGH_VALUE, "condition": condition})

    assert paths_of(problem["details"]) == paths


def nested(depth: int) -> dict:
    return {"field": "a", "operator": "exists"} if depth == 1 else {"not": nested(depth - 1)}


async def test_a_condition_nests_at_most_8_levels(api):
    await create(api, condition=nested(8))

    problem = await error(api, "POST", TRIGGERS_PATH, 400, json={**HIGH_VALUE, "condition": nested(9)})

    assert paths_of(problem["details"]) == ["condition" + ".not" * 8]


@pytest.mark.parametrize("method, suffix", [("POST", ""), ("PUT", "/{id}"), ("POST", "/{id}/test")])
async def test_a_body_over_64_kib(api, method, suffix):
    created = await create(api)
    body = {**HIGH_VALUE, "description": "d" * (64 * 1024)}

    await error(api, method, TRIGGERS_PATH + suffix.format(id=created["id"]), 413, json=body)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/octet-stream", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("method, suffix", [("POST", ""), ("PUT", "/{id}"), ("POST", "/{id}/test")])
async def test_a_body_that_is_not_json(api, content_type, method, suffix):
    created = await create(api)

    await error(api, method, TRIGGERS_PATH + suffix.format(id=created["id"]), 415,
                data=b'{"eventPayload": {}}', headers={"Content-Type": content_type})


async def test_json_with_a_charset_is_accepted(api):
    await api.json("POST", TRIGGERS_PATH, expect=201, data=TriggerCreate(**HIGH_VALUE).model_dump_json(),
                   headers={"Content-Type": "application/json; charset=utf-8"})


@pytest.mark.parametrize("trigger_id", GARBAGE_IDS)
@pytest.mark.parametrize("method, suffix, body", [
    ("GET", "", None), ("GET", "/history", None), ("PUT", "", {"name": "x"}), ("DELETE", "", None),
    ("POST", "/test", {"eventPayload": {}}),
])
async def test_unknown_trigger_ids_are_not_found(api, trigger_id, method, suffix, body):
    await create(api)

    await error(api, method, f"{TRIGGERS_PATH}/{trigger_id}{suffix}", 404, json=body)


@pytest.mark.parametrize("path", ["/api/v1/triggers/{id}?bogus=1", "/api/v1/triggers/{id}?version=1&bogus=1"])
async def test_unknown_query_parameters_on_a_trigger(api, path):
    created = await create(api)

    await error(api, "GET", path.format(id=created["id"]), 400)


# -- operations ---------------------------------------------------------------------------


async def test_health_and_readiness(api):
    health = await api.client.get("/healthz")
    ready = await api.client.get("/readyz")

    assert (health.status, await health.json()) == (200, {"status": "ok"})
    assert ready.status == 200 and (await ready.json())["checks"]["database"] == "ok"


async def test_metrics_count_requests_and_latency_per_route(api):
    created = await create(api)
    for _ in range(3):
        await api.json("GET", f"{TRIGGERS_PATH}/{created['id']}")

    response = await api.client.get("/metrics")

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(await response.text()) for s in family.samples}
    route = ("route", "/api/v1/triggers/{trigger_id}")
    assert response.status == 200
    assert samples[("tripcord_http_requests_total", (("method", "GET"), route, ("status", "200")))] == 3
    assert samples[("tripcord_http_requests_total", (("method", "POST"), ("route", TRIGGERS_PATH),
                                                      ("status", "201")))] == 1
    assert samples[("tripcord_http_request_duration_seconds_count", (("method", "GET"), route))] == 3
    assert samples[("tripcord_http_request_duration_seconds_bucket", (("le", "+Inf"), ("method", "GET"), route))] == 3


async def test_openapi_document_is_generated_from_the_models(api):
    response = await api.client.get("/api/v1/openapi.json")
    document = await response.json()

    schema = document["components"]["schemas"]["TriggerCreate"]
    expected = TriggerCreate.model_json_schema()
    assert response.status == 200 and document["openapi"] == "3.1.0"
    assert (schema["properties"], schema["required"]) == (expected["properties"], expected["required"])
    assert set(document["paths"]) >= {TRIGGERS_PATH, TRIGGERS_PATH + "/{trigger_id}",
                                      TRIGGERS_PATH + "/{trigger_id}/test", TRIGGERS_PATH + "/{trigger_id}/history"}
