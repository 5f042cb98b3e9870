import base64

import pytest

from domain.errors import InvalidTrigger
from domain.trigger import MAX_INT, Trigger, TriggerDeleted

JOURNEY = {"name": "High-Value Purchase Trigger", "event_type": "purchase", "action_type": "enroll_journey",
           "action_config": {"journeyId": "journey_001"}}
WEBHOOK = {"name": "Notify", "event_type": "purchase", "action_type": "webhook",
           "action_config": {"url": "https://hooks.example.com/in"}}


def create(**settings) -> Trigger:
    return Trigger.create("acme", "tr_1", {**JOURNEY, **settings}, "alice")


def rejected(field: str | None = None, **settings) -> list[dict]:
    with pytest.raises(InvalidTrigger) as caught:
        create(**settings)
    if field is not None:
        assert [d["path"] for d in caught.value.details] == [field]
    return caught.value.details


def event_names(trigger: Trigger) -> list[str]:
    return [type(e).__name__ for e in trigger.collect_events()]


def test_create_applies_the_defaults():
    trigger = create()

    assert trigger.settings == {**JOURNEY, "description": "", "condition": None, "priority": 50,
                                "cooldown_ms": 0, "status": "active", "ignore_frequency_caps": False}
    assert (trigger.tenant_id, trigger.trigger_id, trigger.version, trigger.deleted) == ("acme", "tr_1", 1, False)


def test_created_event_carries_tenant_settings_and_actor():
    [created] = create(priority=80).collect_events()

    assert isinstance(created, Trigger.Created)
    assert (created.tenant_id, created.trigger_id, created.actor) == ("acme", "tr_1", "alice")
    assert created.settings["priority"] == 80 and created.originator_version == 1


def test_id_is_deterministic_per_tenant_and_trigger():
    assert Trigger.create_id("acme", "tr_1") == create().id
    assert Trigger.create_id("acme", "tr_1") != Trigger.create_id("other", "tr_1")


@pytest.mark.parametrize("missing", ["name", "event_type", "action_type"])
def test_required_settings(missing):
    settings = {k: v for k, v in JOURNEY.items() if k != missing}

    with pytest.raises(InvalidTrigger) as caught:
        Trigger.create("acme", "tr_1", settings, "alice")

    assert caught.value.details == [{"path": missing, "message": "is required"}]


@pytest.mark.parametrize("name", ["x", "n" * 200, " padded "])
def test_name_of_1_to_200_characters(name):
    assert create(name=name).name == name


@pytest.mark.parametrize("name", ["", "   ", "n" * 201, 7, None, "a\x00b"])
def test_name_out_of_range(name):
    rejected("name", name=name)


@pytest.mark.parametrize("description", [None, 3, "d" * 2001, "\x00"])
def test_description_must_be_a_short_string(description):
    rejected("description", description=description)


@pytest.mark.parametrize("priority", [0, -5, 1000, MAX_INT, -MAX_INT])
def test_priority_is_any_safe_integer(priority):
    assert create(priority=priority).priority == priority


@pytest.mark.parametrize("priority", [True, False, 1.5, "80", None, MAX_INT + 1])
def test_priority_must_be_an_integer_not_a_bool(priority):
    rejected("priority", priority=priority)


@pytest.mark.parametrize("cooldown", [-1, True, 2.0, "0", MAX_INT + 1])
def test_cooldown_must_be_a_non_negative_integer(cooldown):
    rejected("cooldownMs", cooldown_ms=cooldown)


def test_cooldown_may_be_zero_or_large():
    assert create(cooldown_ms=0).cooldown_ms == 0 and create(cooldown_ms=86400000).cooldown_ms == 86400000


def test_status_may_start_paused():
    assert create(status="paused").status == "paused"


@pytest.mark.parametrize("status", ["deleted", "ACTIVE", "", None])
def test_status_is_active_or_paused(status):
    rejected("status", status=status)


@pytest.mark.parametrize("event_type", ["purchase", "page_view", "outcome.recorded", "customer.updated",
                                        "billing.invoice_paid.v2"])
def test_event_type_lowercase_dotted(event_type):
    assert create(event_type=event_type).event_type == event_type


@pytest.mark.parametrize("event_type", ["Purchase", "page-view", "a..b", ".a", "a.", "1st", "", "a b",
                                        "x" * 101, 5])
def test_event_type_rejected(event_type):
    rejected("eventType", event_type=event_type)


@pytest.mark.parametrize("action_type, config", [
    ("recommend", {"decisionFlowId": "df_1", "channel": "email"}),
    ("enroll_journey", {"journeyId": "j_1"}),
    ("decision_request", {"decisionFlowId": "df_1"}),
])
def test_stream_action_configs(action_type, config):
    trigger = create(action_type=action_type, action_config=config)

    assert (trigger.action_type, trigger.action_config) == (action_type, config)


def test_journey_enroll_is_normalised_to_enroll_journey():
    assert create(action_type="journey_enroll").action_type == "enroll_journey"


@pytest.mark.parametrize("action_type", ["email", "ENROLL_JOURNEY", "", None])
def test_unknown_action_type(action_type):
    rejected("actionType", action_type=action_type)


@pytest.mark.parametrize("action_type, config, field", [
    ("recommend", {}, "actionConfig.decisionFlowId"),
    ("enroll_journey", {}, "actionConfig.journeyId"),
    ("decision_request", {"channel": "email"}, "actionConfig.channel"),
    ("enroll_journey", {"journeyId": "j", "priority": "high"}, "actionConfig.priority"),
    ("webhook", {}, "actionConfig.url"),
    ("enroll_journey", {"journeyId": ""}, "actionConfig.journeyId"),
    ("enroll_journey", {"journeyId": 12}, "actionConfig.journeyId"),
    ("recommend", {"decisionFlowId": "df", "channel": None}, "actionConfig.channel"),
])
def test_action_config_rules(action_type, config, field):
    rejected(field, action_type=action_type, action_config=config)


def test_action_config_must_be_an_object():
    rejected("actionConfig", action_config=["journeyId"])


def test_webhook_defaults_method_and_headers():
    trigger = create(**WEBHOOK)

    assert trigger.action_config == {"url": "https://hooks.example.com/in", "method": "POST", "headers": {}}


def test_webhook_method_is_upper_cased_and_secret_kept():
    config = {"url": "http://hooks.example.com/in", "method": "put", "headers": {"X-Team": "growth"},
              "secret": "whsec_" + base64.b64encode(b"k" * 24).decode()}

    assert create(**{**WEBHOOK, "action_config": config}).action_config == {**config, "method": "PUT"}


@pytest.mark.parametrize("config, field", [
    ({"url": "ftp://hooks.example.com/in"}, "actionConfig.url"),
    ({"url": "hooks.example.com/in"}, "actionConfig.url"),
    ({"url": "https:///no-host"}, "actionConfig.url"),
    ({"url": "javascript:alert(1)"}, "actionConfig.url"),
    ({"url": "https://h.example", "method": "TRACE"}, "actionConfig.method"),
    ({"url": "https://h.example", "headers": ["X-A"]}, "actionConfig.headers"),
    ({"url": "https://h.example", "headers": {"X-A": 1}}, "actionConfig.headers.X-A"),
    ({"url": "https://h.example", "headers": {"": "v"}}, "actionConfig.headers."),
    ({"url": "https://h.example", "headers": {f"X-{i}": "v" for i in range(33)}}, "actionConfig.headers"),
    ({"url": "https://h.example", "secret": ""}, "actionConfig.secret"),
    # Headers that would forge the target host, desynchronise the framing or pass for our signature:
    ({"url": "https://h.example", "headers": {"Host": "internal.example"}}, "actionConfig.headers.Host"),
    ({"url": "https://h.example", "headers": {"content-length": "0"}}, "actionConfig.headers.content-length"),
    ({"url": "https://h.example", "headers": {"Transfer-Encoding": "chunked"}},
     "actionConfig.headers.Transfer-Encoding"),
    ({"url": "https://h.example", "headers": {"Connection": "close"}}, "actionConfig.headers.Connection"),
    ({"url": "https://h.example", "headers": {"TE": "trailers"}}, "actionConfig.headers.TE"),
    ({"url": "https://h.example", "headers": {"Upgrade": "h2c"}}, "actionConfig.headers.Upgrade"),
    ({"url": "https://h.example", "headers": {"Webhook-Signature": "v1,x"}},
     "actionConfig.headers.Webhook-Signature"),
    ({"url": "https://h.example", "headers": {"X-A": "a\r\nHost: evil"}}, "actionConfig.headers.X-A"),
    ({"url": "https://h.example", "headers": {"X A": "v"}}, "actionConfig.headers.X A"),
    ({"url": "https://h.example", "headers": {"X-A": "1", "x-a": "2"}}, "actionConfig.headers.x-a"),
    # Secrets that sign with an empty or broken key, or are too short to keep anyone out:
    ({"url": "https://h.example", "secret": "whsec_"}, "actionConfig.secret"),
    ({"url": "https://h.example", "secret": "whsec_!!!!"}, "actionConfig.secret"),
    ({"url": "https://h.example", "secret": "whsec_abc"}, "actionConfig.secret"),
    ({"url": "https://h.example", "secret": "whsec_" + base64.b64encode(b"k" * 23).decode()}, "actionConfig.secret"),
    ({"url": "https://h.example", "secret": "short-secret"}, "actionConfig.secret"),
    ({"url": "https://h.example", "signing": "x"}, "actionConfig.signing"),
])
def test_webhook_config_rules(config, field):
    rejected(field, **{**WEBHOOK, "action_config": config})


def test_invalid_condition_names_the_path():
    condition = {"all": [{"field": "amount", "operator": "bigger", "value": 1}]}

    details = rejected(condition=condition)

    assert details == [{"path": "condition.all[0].operator", "message": "unknown operator 'bigger'"}]


def test_condition_is_kept_as_given():
    condition = {"any": [{"field": "amount", "operator": "greater_than", "value": 500},
                         {"field": "$channel", "operator": "equals", "value": "web"}]}

    assert create(condition=condition).condition == condition


def test_update_records_only_changed_fields():
    trigger = create(priority=80)
    trigger.collect_events()

    trigger.change({"name": "Renamed", "priority": 80, "cooldown_ms": 1000}, "bob")

    [updated] = trigger.collect_events()
    assert isinstance(updated, Trigger.Updated)
    assert (updated.changes, updated.actor, updated.originator_version) == (
        {"name": "Renamed", "cooldown_ms": 1000}, "bob", 2)
    assert (trigger.name, trigger.priority, trigger.version) == ("Renamed", 80, 2)


def test_update_with_nothing_changed_records_nothing():
    trigger = create()
    trigger.collect_events()

    trigger.change({"name": JOURNEY["name"], "action_type": "journey_enroll"}, "bob")

    assert trigger.collect_events() == [] and trigger.version == 1


def test_invalid_update_changes_nothing():
    trigger = create()
    trigger.collect_events()

    with pytest.raises(InvalidTrigger):
        trigger.change({"name": "Fine", "priority": "high"}, "bob")

    assert trigger.collect_events() == [] and trigger.name == JOURNEY["name"]


def test_update_is_checked_against_the_whole_trigger():
    with pytest.raises(InvalidTrigger) as caught:
        create().change({"action_type": "webhook"}, "bob")

    assert caught.value.details[0]["path"] == "actionConfig.journeyId"


def test_status_changes_are_paused_and_activated_events():
    trigger = create()
    trigger.collect_events()

    trigger.change({"status": "paused"}, "bob")
    trigger.change({"status": "paused"}, "bob")
    trigger.change({"status": "active"}, "carol")

    paused, activated = trigger.collect_events()
    assert (type(paused), paused.actor, paused.originator_version) == (Trigger.Paused, "bob", 2)
    assert (type(activated), activated.actor, activated.originator_version) == (Trigger.Activated, "carol", 3)
    assert trigger.status == "active" and trigger.version == 3


def test_update_with_status_records_the_change_then_the_pause():
    trigger = create()
    trigger.collect_events()

    trigger.change({"name": "Quiet", "status": "paused"}, "bob")

    assert event_names(trigger) == ["Updated", "Paused"]
    assert (trigger.name, trigger.status, trigger.version) == ("Quiet", "paused", 3)


def test_delete_records_deleted():
    trigger = create()
    trigger.collect_events()

    trigger.delete("admin")

    [deleted] = trigger.collect_events()
    assert (type(deleted), deleted.actor, deleted.originator_version) == (Trigger.Deleted, "admin", 2)
    assert trigger.deleted


@pytest.mark.parametrize("command", [
    lambda t: t.change({"name": "Again"}, "bob"),
    lambda t: t.change({"status": "paused"}, "bob"),
    lambda t: t.delete("bob"),
])
def test_commands_after_delete_are_refused(command):
    trigger = create()
    trigger.delete("admin")
    trigger.collect_events()

    with pytest.raises(TriggerDeleted):
        command(trigger)

    assert trigger.collect_events() == [] and trigger.version == 2


def test_versions_count_every_recorded_event():
    trigger = create()
    trigger.change({"priority": 10}, "bob")
    trigger.change({"status": "paused"}, "bob")
    trigger.change({"status": "active", "description": "again"}, "bob")
    trigger.delete("admin")

    assert [e.originator_version for e in trigger.collect_events()] == [1, 2, 3, 4, 5, 6]
    assert trigger.version == 6


OLD, NEW = "an-old-secret-of-24-chars-or-more", "a-new-secret-of-24-chars-or-more"


def test_a_new_webhook_config_without_a_secret_keeps_the_secret_on_record():
    trigger = Trigger.create("t1", "tr_1", {"name": "hook", "event_type": "purchase", "action_type": "webhook",
                                           "action_config": {"url": "https://a.example/h", "secret": OLD}}, "u")

    trigger.change({"action_config": {"url": "https://b.example/h"}}, "u")

    assert trigger.action_config["url"] == "https://b.example/h"
    assert trigger.action_config["secret"] == OLD


def test_a_new_secret_replaces_the_old_one():
    trigger = Trigger.create("t1", "tr_1", {"name": "hook", "event_type": "purchase", "action_type": "webhook",
                                           "action_config": {"url": "https://a.example/h", "secret": OLD}}, "u")

    trigger.change({"action_config": {"url": "https://a.example/h", "secret": NEW}}, "u")

    assert trigger.action_config["secret"] == NEW


@pytest.mark.parametrize("secret", ["whsec_" + base64.b64encode(b"k" * 24).decode(),
                                    "whsec_" + base64.b64encode(b"k" * 64).decode(), "p" * 24])
def test_a_standard_webhooks_secret_or_a_long_plain_one_is_accepted(secret):
    assert create(**{**WEBHOOK, "action_config": {"url": "https://h.example", "secret": secret}}).action_config[
        "secret"] == secret


def test_a_header_sent_back_masked_keeps_its_value_and_a_new_value_replaces_it():
    trigger = Trigger.create("t1", "tr_1", {"name": "hook", "event_type": "purchase", "action_type": "webhook",
                                           "action_config": {"url": "https://a.example/h",
                                                             "headers": {"Authorization": "Bearer k1", "X-A": "a"}}},
                             "u")

    trigger.change({"action_config": {"url": "https://a.example/h",
                                      "headers": {"Authorization": "********", "X-A": "b"}}}, "u")

    assert trigger.action_config["headers"] == {"Authorization": "Bearer k1", "X-A": "b"}
