"""The OpenAPI 3.1 document, generated from the pydantic models that validate requests."""

from functools import cache
from typing import get_args

from pydantic.json_schema import models_json_schema

from domain.actions import WEBHOOK_METHODS, canonical_action_type, config_keys
from interfaces import console_schemas as c
from interfaces import delivery_schemas as d
from interfaces import schemas as s
from interfaces import settings_schemas as t

REF = "#/components/schemas/{model}"
BODIES = [s.TriggerCreate, s.TriggerUpdate, s.TriggerTest, s.IngestRequest, s.BatchRequest, s.BatchEvent,
          d.BulkResend, t.FrequencyCaps, t.JsonSchemaDocument]
RESULTS = [s.TriggerView, s.TriggerPage, s.TestResult, s.History, s.IngestResponse, s.ErrorResponse, s.BatchResponse,
           d.DispatchView, d.DispatchPage, d.BulkResendResult, d.EventView, d.CustomerEventPage, d.TriggerStatsView,
           t.EventSchemaView, t.EventSchemaList, t.SettingsHistory, c.StreamTicket]
TENANT = {"name": "X-Tenant-Id", "in": "header", "required": True,
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"}}
TRIGGER_ID = {"name": "trigger_id", "in": "path", "required": True, "schema": {"type": "string"}}
DISPATCH_ID = {"name": "dispatch_id", "in": "path", "required": True, "schema": {"type": "string"}}
EVENT_ID = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}
CUSTOMER_ID = {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}
EVENT_TYPE = {"name": "event_type", "in": "path", "required": True, "schema": {"type": "string"}}
SETTING = {"type": "string", "minLength": 1, "maxLength": 2048}
WEBHOOK_SETTINGS = {
    "url": {**SETTING, "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"},
    "method": {"type": "string", "enum": list(WEBHOOK_METHODS)},
    "headers": {"type": "object", "maxProperties": 32, "propertyNames": {"minLength": 1, "maxLength": 256},
                "additionalProperties": {"type": "string", "maxLength": 2048}},
    "secret": {**SETTING, "writeOnly": True},
}


def _ref(model) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model) -> dict:
    return {"content": {"application/json": {"schema": _ref(model)}}}


def _errors(*statuses: int) -> dict:
    return {str(code): {"description": "error", **_json(s.ErrorResponse)} for code in statuses}


def _query(model) -> list[dict]:
    schema = model.model_json_schema()
    return [{"name": name, "in": "query", "required": name in schema.get("required", ()), "schema": prop}
            for name, prop in schema["properties"].items()]


def _action_config_rules(config_required: bool) -> list[dict]:
    """The actionConfig keys each actionType takes, as domain.actions checks them."""
    rules = []
    for name in get_args(s.ActionTypeName):
        required, optional = config_keys(canonical_action_type(name))
        config = {"type": "object", "required": list(required), "additionalProperties": False,
                  "properties": {key: WEBHOOK_SETTINGS.get(key, SETTING) for key in required + optional}}
        rules.append({"if": {"required": ["actionType"], "properties": {"actionType": {"const": name}}},
                      "then": {"properties": {"actionConfig": config},
                               "required": ["actionConfig"] if config_required else []}})
    return rules


def _operation(summary, *, body=None, ok=("200", None), params=(), errors=(400, 401, 403, 404)):
    status, model = ok
    operation = {
        "summary": summary,
        "security": [{"bearer": []}],
        "parameters": [TENANT, *params],
        "responses": {status: {"description": summary, **(_json(model) if model else {})},
                      **_errors(*errors, 500, 503)},
    }
    if body is not None:
        operation["requestBody"] = {"required": True, **_json(body)}
    return operation


@cache
def openapi_document() -> dict:
    _, components = models_json_schema([(m, "validation") for m in BODIES] +
                                       [(m, "serialization") for m in RESULTS], ref_template=REF)
    components["$defs"]["TriggerCreate"]["allOf"] = _action_config_rules(config_required=True)
    components["$defs"]["TriggerUpdate"]["allOf"] = _action_config_rules(config_required=False)
    write_errors = (400, 401, 403, 404, 409, 413, 415)
    ingest_errors = (*write_errors, 422)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Tripcord", "version": "1.0.0",
                 "description": "Real-time customer-event ingestion and trigger engine."},
        "components": {"schemas": components["$defs"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "paths": {
            "/api/v1/events/ingest": {"post": _operation(
                "Ingest one customer event", body=s.IngestRequest, ok=("200", s.IngestResponse),
                params=[IDEMPOTENCY], errors=(*ingest_errors, 429))},
            "/api/v1/events/batch": {"post": _operation(
                "Ingest 1 to 500 events, a result each", body=s.BatchRequest, ok=("200", s.BatchResponse),
                errors=(400, 401, 403, 413, 415, 429))},
            "/api/v1/triggers": {
                "get": _operation("List triggers", ok=("200", s.TriggerPage), params=_query(s.TriggerListQuery),
                                  errors=(400, 401, 403)),
                "post": _operation("Create a trigger", body=s.TriggerCreate, ok=("201", s.TriggerView),
                                   errors=write_errors),
            },
            "/api/v1/triggers/{trigger_id}": {
                "get": _operation("Get a trigger, or a past version of it", ok=("200", s.TriggerView),
                                  params=[TRIGGER_ID, *_query(s.VersionQuery)]),
                "put": _operation("Update a trigger (only the given fields)", body=s.TriggerUpdate,
                                  ok=("200", s.TriggerView), params=[TRIGGER_ID], errors=write_errors),
                "delete": _operation("Delete a trigger (admin)", ok=("204", None), params=[TRIGGER_ID]),
            },
            "/api/v1/triggers/{trigger_id}/test": {"post": _operation(
                "Dry-run a trigger against a sample event", body=s.TriggerTest, ok=("200", s.TestResult),
                params=[TRIGGER_ID], errors=write_errors)},
            "/api/v1/triggers/{trigger_id}/history": {"get": _operation(
                "Audit history of a trigger", ok=("200", s.History), params=[TRIGGER_ID])},
            **delivery_paths(),
            **settings_paths(),
            **console_paths(),
        },
    }


def settings_paths() -> dict:
    write_errors = (400, 401, 403, 409, 413, 415)
    put_schema = _operation("Define or replace a type's schema (admin); the body is the schema",
                            body=t.JsonSchemaDocument, ok=("200", t.EventSchemaView), params=[EVENT_TYPE],
                            errors=(*write_errors, 404))
    put_schema["responses"]["201"] = {"description": "defined", **_json(t.EventSchemaView)}
    return {
        "/api/v1/event-schemas": {"get": _operation(
            "The tenant's event schemas", ok=("200", t.EventSchemaList), errors=(401, 403))},
        "/api/v1/event-schemas/{event_type}": {
            "get": _operation("One type's schema", ok=("200", t.EventSchemaView), params=[EVENT_TYPE]),
            "put": put_schema,
            "delete": _operation("Remove a type's schema (admin)", ok=("204", None), params=[EVENT_TYPE]),
        },
        "/api/v1/event-schemas/{event_type}/history": {"get": _operation(
            "Every change of a type's schema", ok=("200", t.SettingsHistory), params=[EVENT_TYPE])},
        "/api/v1/settings/frequency-caps": {
            "get": _operation("The tenant's frequency caps", ok=("200", t.FrequencyCaps), errors=(401, 403)),
            "put": _operation("Replace the tenant's frequency caps (admin)", body=t.FrequencyCaps,
                              ok=("200", t.FrequencyCaps), errors=write_errors),
        },
        "/api/v1/settings/frequency-caps/history": {"get": _operation(
            "Every change of the tenant's frequency caps", ok=("200", t.SettingsHistory), errors=(401, 403))},
    }


def delivery_paths() -> dict:
    return {
        "/api/v1/triggers/{trigger_id}/stats": {"get": _operation(
            "A trigger's counts: fired, suppressed by reason, delivered, retrying, dead",
            ok=("200", d.TriggerStatsView), params=[TRIGGER_ID])},
        "/api/v1/dispatches": {"get": _operation(
            "The dispatch log, newest first", ok=("200", d.DispatchPage), params=_query(d.DispatchQuery),
            errors=(400, 401, 403))},
        "/api/v1/dispatches/retry": {"post": _operation(
            "Resend every dispatch that matches, in the background (admin)", body=d.BulkResend,
            ok=("202", d.BulkResendResult), errors=(400, 401, 403, 413, 415))},
        "/api/v1/dispatches/{dispatch_id}": {"get": _operation(
            "One dispatch with every attempt", ok=("200", d.DispatchView), params=[DISPATCH_ID])},
        "/api/v1/dispatches/{dispatch_id}/retry": {"post": _operation(
            "Attempt a retrying or dead dispatch again now, with the same id", ok=("202", d.DispatchView),
            params=[DISPATCH_ID, *_query(d.ResendQuery)], errors=(400, 401, 403, 404, 409))},
        "/api/v1/events/{event_id}": {"get": _operation(
            "An event as recorded, its stream status and what each matching trigger did", ok=("200", d.EventView),
            params=[EVENT_ID])},
        "/api/v1/customers/{customer_id}/events": {"get": _operation(
            "A customer's events, newest first, with what each trigger did", ok=("200", d.CustomerEventPage),
            params=[CUSTOMER_ID, *_query(d.PageQuery)], errors=(400, 401, 403))},
    }


def console_paths() -> dict:
    live = _operation("The tenant's events as they reach the stream, as server-sent events named `ingested`",
                      params=_query(c.LiveQuery), errors=(400, 401))
    live["security"] = []  # an EventSource cannot send headers: the ticket names the tenant and is the credential
    live["parameters"] = live["parameters"][1:]
    live["responses"]["200"]["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
    return {
        "/api/v1/stream-tickets": {"post": _operation(
            "A ticket that opens one live stream within 30 s", ok=("201", c.StreamTicket), errors=(401, 403))},
        "/api/v1/events/live": {"get": live},
    }
