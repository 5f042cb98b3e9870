"""Rules marketers expect: templated actions, frequency caps across triggers, and event schemas."""

import asyncio
import base64
import secrets

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from infrastructure.templates import LiquidTemplates
from tests.e2e.ingest_helpers import create_trigger, eventually, ingest, matched_ids, start_api
from tests.e2e.receivers import Receiver

CAPS = "/api/v1/settings/frequency-caps"
SCHEMAS = "/api/v1/event-schemas"
SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# -- templates ----------------------------------------------------------------------------------

async def test_a_body_template_is_rendered_signed_and_verifies_as_a_receiver_would(
        aiohttp_client, tmp_path, database_url, receive):
    receiver = Receiver()
    api = await start_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, name="VIP", actionType="webhook", actionConfig={
        "url": await receive(receiver) + "?customer={{ event.customerId | url_encode }}", "secret": SECRET,
        "headers": {"X-Order": "{{ event.data.orderId }}"},
        "body": {"text": "{{ event.customerId }} spent {{ event.data.amount | times: 2 }} ({{ trigger.name }})",
                 "nested": {"items": ["{{ event.data.items | size }} items", "fixed"]}, "count": 3}})

    answer = await ingest(api, customer="Zoë & co", data={"amount": 21.5, "orderId": "ORD-9", "items": [1, 2]})

    [dispatched] = answer["actionsDispatched"]
    [request] = receiver.requests
    Webhook(SECRET).verify(request["body"], request["headers"])  # raises when the signature does not verify
    assert orjson.loads(request["body"]) == {"text": "Zoë & co spent 43.0 (VIP)",
                                             "nested": {"items": ["2 items", "fixed"]}, "count": 3}
    assert request["headers"]["X-Order"] == "ORD-9" and request["headers"]["webhook-id"] == dispatched["dispatchId"]
    assert dispatched["config"]["url"].endswith("?customer=Zo%C3%AB+%26+co")
    assert dispatched["config"]["headers"] == {"X-Order": "********"}
    assert trigger["actionConfig"]["body"]["text"].startswith("{{ event.customerId }}")


async def test_a_stream_action_s_config_is_rendered_per_dispatch(aiohttp_client, tmp_path, database_url, nats_url):
    api = await start_api(aiohttp_client, tmp_path, database_url, nats_url)
    await create_trigger(api, actionConfig={"decisionFlowId": "df-{{ event.type }}-{{ event.data.tier | default: 'std' }}"})

    gold = await ingest(api, customer="c1", data={"tier": "gold"})
    plain = await ingest(api, customer="c2")

    assert gold["actionsDispatched"][0]["config"] == {"decisionFlowId": "df-purchase-gold"}
    assert plain["actionsDispatched"][0]["config"] == {"decisionFlowId": "df-purchase-std"}


@pytest.mark.parametrize("template", [
    "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}",  # loops for ever, as good as
    "{% assign s = 'xxxxxxxxxxxxxxxx' %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}",
    "{{ 1 | divided_by: 0 }}",
])
async def test_a_template_that_cannot_render_makes_its_dispatch_dead_and_never_fails_the_ingest(
        aiohttp_client, tmp_path, database_url, template):
    api = await start_api(aiohttp_client, tmp_path, database_url)
    await create_trigger(api, actionConfig={"decisionFlowId": template})

    answer = await ingest(api)

    [error] = answer["actionErrors"]
    assert "did not render" in error["error"] and "actionConfig.decisionFlowId" in error["error"]
    dead = await eventually(lambda: _dispatch_if(api, error["dispatchId"], "dead"), timeout=5)
    assert len(dead["attempts"]) == 1 and "did not render" in dead["lastError"]


async def _dispatch_if(api, dispatch_id: str, status: str):
    response = await api.request("GET", f"/api/v1/dispatches/{dispatch_id}")
    found = await response.json()
    return found if response.status == 200 and found["status"] == status else None


@pytest.mark.parametrize("config, path", [
    ({"decisionFlowId": "{{ event.data.amount "}, "actionConfig.decisionFlowId"),
    ({"decisionFlowId": "df", "channel": "{% if x %}"}, "actionConfig.channel"),
])
async def test_a_template_that_does_not_parse_is_a_400_naming_its_path(api, config, path):
    answer = await api.json("POST", "/api/v1/triggers", expect=400, json={
        "name": "t", "eventType": "purchase", "actionType": "recommend", "actionConfig": config})

    assert [d["path"] for d in answer["error"]["details"]] == [path]
    assert "Liquid" in answer["error"]["details"][0]["message"]


async def test_a_webhook_body_template_that_does_not_parse_names_its_path(api):
    answer = await api.json("POST", "/api/v1/triggers", expect=400, json={
        "name": "t", "eventType": "purchase", "actionType": "webhook",
        "actionConfig": {"url": "https://hooks.example.com/in", "body": {"a": [{"b": "{% for %}"}]}}})

    assert answer["error"]["details"][0]["path"] == "actionConfig.body.a[0].b"


async def test_the_dry_run_shows_the_rendered_config(api):
    trigger = await create_trigger(api, actionConfig={"decisionFlowId": "df-{{ event.data.amount | plus: 1 }}"})

    result = await api.json("POST", f"/api/v1/triggers/{trigger['id']}/test", json={"eventPayload": {"amount": 41}})

    assert result["renderedConfig"] == {"decisionFlowId": "df-42"} and result["wouldFire"] is True


async def test_templates_are_parsed_once_per_trigger_version(aiohttp_client, tmp_path, database_url, monkeypatch):
    parsed = []
    original = LiquidTemplates._compile

    def counting(self, value, path):
        if isinstance(value, str) and "{{" in value:
            parsed.append(value)
        return original(self, value, path)
    monkeypatch.setattr(LiquidTemplates, "_compile", counting)
    api = await start_api(aiohttp_client, tmp_path, database_url)
    trigger = await create_trigger(api, actionConfig={"decisionFlowId": "df-{{ event.customerId }}"})
    saved = len(parsed)

    for n in range(20):
        await ingest(api, customer=f"c{n}")
    await api.json("PUT", f"/api/v1/triggers/{trigger['id']}", json={"actionConfig": {"decisionFlowId": "v2-{{ event.type }}"}})
    after_update = len(parsed)
    for n in range(20):
        await ingest(api, customer=f"d{n}")

    assert 1 <= after_update - saved <= 2  # the new version: checked on save, compiled for the index
    assert len(parsed) == after_update  # no ingest parsed anything


# -- frequency caps -----------------------------------------------------------------------------

async def test_caps_are_read_and_replaced_whole_with_history_and_checked(api):
    empty = await api.json("GET", CAPS)
    saved = await api.json("PUT", CAPS, json=[{"limit": 2, "periodMs": 3_600_000},
                                              {"limit": 1, "periodMs": 60_000, "actionTypes": ["webhook", "journey_enroll"]}])
    again = await api.json("GET", CAPS)
    history = (await api.json("GET", f"{CAPS}/history"))["data"]
    bad = await api.json("PUT", CAPS, expect=400, json=[{"limit": 0, "periodMs": 1}])
    not_a_list = await api.json("PUT", CAPS, expect=400, json={"limit": 1, "periodMs": 1})

    assert empty == [] and again == saved
    assert saved[1] == {"limit": 1, "periodMs": 60_000, "actionTypes": ["enroll_journey", "webhook"]}
    assert [(e["version"], e["change"], e["actor"]) for e in history] == [(1, "created", "tester")]
    assert history[0]["fields"]["caps"] == saved
    assert bad["error"]["details"][0]["path"] == "[0].limit"
    assert not_a_list["error"]["code"] == "bad_request"
    await api.as_("editor").json("PUT", CAPS, json=[], expect=403)
    assert await api.as_("editor").json("GET", CAPS) == saved
    assert await api.as_("admin", tenant=api.tenant + "x").json("GET", CAPS) == []


async def test_a_cap_holds_across_triggers_higher_priority_first_and_exempt_triggers_still_fire(api):
    await api.json("PUT", CAPS, json=[{"limit": 1, "periodMs": 3_600_000}])
    high = await create_trigger(api, name="high", priority=90)
    low = await create_trigger(api, name="low", priority=10)
    receipt = await create_trigger(api, name="receipt", priority=0, ignoreFrequencyCaps=True)

    first = await ingest(api, customer="c1")
    second = await ingest(api, customer="c1")
    other = await ingest(api, customer="c2")

    assert matched_ids(first) == [high["id"], receipt["id"]]
    assert matched_ids(second) == [receipt["id"]] and matched_ids(other) == [high["id"], receipt["id"]]
    story = await api.json("GET", f"/api/v1/events/{first['eventId']}")
    assert [(t["triggerId"], t["outcome"]) for t in story["triggers"]] == [
        (high["id"], "fired"), (low["id"], "frequency_capped"), (receipt["id"], "fired")]
    stats = await api.json("GET", f"/api/v1/triggers/{low['id']}/stats")
    assert stats["fired"] == 0 and stats["suppressed"] == {"cooldown": 0, "frequency_capped": 3}
    dry = await api.json("POST", f"/api/v1/triggers/{high['id']}/test",
                         json={"eventPayload": {}, "customerId": "c1"})
    assert dry["wouldFire"] is False and dry["heldBy"] == "frequency_capped" and "c1" in dry["reason"]
    fresh = await api.json("POST", f"/api/v1/triggers/{high['id']}/test", json={"eventPayload": {}, "customerId": "c9"})
    assert fresh["wouldFire"] is True and fresh["heldBy"] is None


async def test_a_cap_limited_to_action_types_leaves_the_others(api):
    await api.json("PUT", CAPS, json=[{"limit": 1, "periodMs": 3_600_000, "actionTypes": ["enroll_journey"]}])
    journey = await create_trigger(api, name="j", priority=50, actionType="enroll_journey",
                                   actionConfig={"journeyId": "j1"})
    journey_too = await create_trigger(api, name="j2", priority=40, actionType="enroll_journey",
                                       actionConfig={"journeyId": "j2"})
    recommend = await create_trigger(api, name="r", priority=30)

    answer = await ingest(api, customer="c1")

    assert matched_ids(answer) == [journey["id"], recommend["id"]] and journey_too["id"] not in matched_ids(answer)


async def test_a_burst_for_one_customer_against_two_capped_triggers_gives_one_dispatch(api):
    await api.json("PUT", CAPS, json=[{"limit": 1, "periodMs": 3_600_000}])
    first = await create_trigger(api, name="a", priority=60)
    second = await create_trigger(api, name="b", priority=50)

    answers = await asyncio.gather(*(ingest(api, customer="c1", data={"n": n}) for n in range(24)))

    fired = [m for a in answers for m in matched_ids(a)]
    assert len(fired) == 1 and fired[0] in (first["id"], second["id"])
    counts = [await api.json("GET", f"/api/v1/triggers/{t['id']}/stats") for t in (first, second)]
    assert sum(c["fired"] for c in counts) == 1
    assert sum(c["suppressed"]["frequency_capped"] for c in counts) == 2 * 24 - 1


# -- event schemas ------------------------------------------------------------------------------

ORDER_SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "required": ["orderId", "amount"],
                "properties": {"orderId": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
                               "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}}}}


async def test_a_schema_is_enforced_at_ingest_naming_the_failing_path(api):
    created = await api.json("PUT", f"{SCHEMAS}/purchase", expect=201, json=ORDER_SCHEMA)

    good = await ingest(api, data={"orderId": "o1", "amount": 5, "items": [{"sku": "a"}]})
    missing = await ingest(api, data={"amount": 5}, expect=400)
    wrong = await ingest(api, data={"orderId": "o1", "amount": -1, "items": [{"sku": "a"}, {}]}, expect=400)
    other_type = await ingest(api, "page_view", data={"anything": True})

    assert created["eventType"] == "purchase" and created["schema"] == ORDER_SCHEMA and created["version"] == 1
    assert good["ingested"] and other_type["ingested"]
    assert [d["path"] for d in missing["error"]["details"]] == ["data.orderId"]
    assert missing["error"]["code"] == "validation_error"
    assert sorted(d["path"] for d in wrong["error"]["details"]) == ["data.amount", "data.items[1].sku"]
    assert (await api.as_("admin", tenant=api.tenant + "x").json("POST", "/api/v1/events/ingest",
                                                                 json={"type": "purchase", "customerId": "c",
                                                                       "data": {}}))["ingested"]


async def test_schemas_are_listed_replaced_removed_with_history_and_admin_only_to_write(api):
    await api.json("PUT", f"{SCHEMAS}/purchase", expect=201, json=ORDER_SCHEMA)
    replaced = await api.json("PUT", f"{SCHEMAS}/purchase", expect=200, json={"type": "object"})
    listed = await api.json("GET", SCHEMAS)
    await api.as_("editor").json("PUT", f"{SCHEMAS}/purchase", json={"type": "object"}, expect=403)
    await api.json("DELETE", f"{SCHEMAS}/purchase", expect=204)
    after = await ingest(api, data={"amount": "not checked any more"})
    history = (await api.json("GET", f"{SCHEMAS}/purchase/history"))["data"]

    assert replaced["version"] == 2 and [s["eventType"] for s in listed["data"]] == ["purchase"]
    assert after["ingested"]
    assert [(e["version"], e["change"]) for e in history] == [(1, "defined"), (2, "replaced"), (3, "removed")]
    assert history[0]["fields"]["schema"] == ORDER_SCHEMA and history[2]["fields"] == {}
    await api.json("GET", f"{SCHEMAS}/purchase", expect=404)
    await api.json("DELETE", f"{SCHEMAS}/purchase", expect=404)
    assert (await api.json("GET", SCHEMAS))["data"] == []


@pytest.mark.parametrize("schema, path", [
    ({"type": "nonsense"}, "schema.type"),
    ({"properties": {"a": {"minimum": "zero"}}}, "schema.properties.a.minimum"),
    ({"type": "string", "pattern": "(?=lookahead)"}, "schema.pattern"),  # lookarounds could backtrack for ever
    ({"$ref": "https://example.com/remote.json"}, "schema"),
])
async def test_a_document_that_is_not_a_schema_we_keep_is_a_400(api, schema, path):
    answer = await api.json("PUT", f"{SCHEMAS}/purchase", expect=400, json=schema)

    assert answer["error"]["details"][0]["path"] == path


async def test_a_schema_is_only_for_an_ingest_type(api):
    answer = await api.json("PUT", f"{SCHEMAS}/outcome.recorded", expect=400, json={"type": "object"})

    assert answer["error"]["details"][0]["path"] == "eventType"
