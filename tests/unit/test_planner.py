"""The ingest planner, alone: what an event records and sends, decided in memory from an index and two caches."""

from datetime import datetime, timedelta, timezone

import orjson

from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.planner import Planner
from application.trigger_index import TriggerIndex
from domain.customer_events import COOLDOWN, FIRED, FREQUENCY_CAPPED, PAUSED
from domain.dispatch import dispatch_id
from domain.frequency_caps import FrequencyCap
from domain.idempotency import KeyClaim
from tests.unit.fakes import PlainTemplates

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms
EVENT = {"type": "purchase", "customerId": "c1", "data": {"amount": 700}}
WEBHOOK = {"url": "https://hooks.example.com/in", "method": "POST", "headers": {}}


def trigger(trigger_id, priority=50, action_type="recommend", config=None, condition=None, cooldown_ms=0,
            age_s=0, **extra) -> dict:
    return {"tenant_id": "t1", "trigger_id": trigger_id, "name": trigger_id, "version": 3, "event_type": "purchase",
            "action_type": action_type, "action_config": config or {"decisionFlowId": "df_1"},
            "condition": condition, "priority": priority, "cooldown_ms": cooldown_ms, "status": "active",
            "deleted": False, "created_at": T0 + timedelta(seconds=age_s), **extra}


def planner_over(*rows, caps=()) -> Planner:
    index = TriggerIndex(PlainTemplates())
    index.apply([{**row, "position": n} for n, row in enumerate(rows, 1)], len(rows))
    return Planner(index, Cooldowns(), Allowances(), caps=lambda tenant_id: caps)


def outcomes(plan) -> list[tuple[str, str]]:
    return [(o.trigger_id, o.outcome) for o in plan.event.outcomes]


def test_an_event_no_trigger_wants_is_logged_alone_with_its_stream_body():
    planner = planner_over(trigger("big", condition={"field": "amount", "operator": "greater_than", "value": 1000}))

    plan = planner.plan("t1", "evt_1", EVENT, NOW)

    assert plan.fires == [] and plan.event.outcomes == () and plan.unit.events == []
    assert plan.unit.logged == [plan.event]
    assert plan.message == {"id": "evt_1", "tenantId": "t1", "type": "purchase", "customerId": "c1", "channel": None,
                            "timestamp": "2026-01-01T00:00:00.000Z", "receivedAt": "2026-01-01T00:00:00.000Z",
                            "data": {"amount": 700}, "triggerEventTypes": ["purchase", "outcome.recorded"]}


def test_matching_triggers_fire_in_priority_order_each_with_its_rendered_delivery():
    planner = planner_over(trigger("low", priority=10), trigger("hook", priority=90, action_type="webhook",
                                                                 config=WEBHOOK),
                           trigger("no", condition={"field": "amount", "operator": "less_than", "value": 5}))
    claim = KeyClaim("t1", "header", "key-1", "fingerprint", "evt_1", NOW, NOW + 30_000)

    plan = planner.plan("t1", "evt_1", EVENT, NOW, claim=claim)

    assert outcomes(plan) == [("hook", FIRED), ("low", FIRED)]
    assert [o.trigger_version for o in plan.event.outcomes] == [3, 3]
    assert [f.dispatch_id for f in plan.fires] == [dispatch_id("evt_1", "hook"), dispatch_id("evt_1", "low")]
    hook, low = (f.delivery for f in plan.fires)
    assert (hook.target, hook.method) == ("https://hooks.example.com/in", "POST")
    assert orjson.loads(hook.body)["event"] == plan.message
    assert low.target.startswith("tripcord.actions.t1.") and orjson.loads(low.body)["dispatchId"] == low.dispatch_id
    assert plan.unit.claims == [claim] and plan.unit.events == []  # no cooldown, no cap: nothing else recorded


def test_a_paused_trigger_that_matches_is_recorded_in_evaluation_order_and_does_nothing_else():
    planner = planner_over(trigger("high", priority=90), trigger("held", priority=50, cooldown_ms=60_000),
                           trigger("low", priority=10),
                           trigger("paused_missed", priority=70, status="paused",
                                   condition={"field": "amount", "operator": "less_than", "value": 5}),
                           caps=(FrequencyCap(1, 86_400_000),))
    planner.index.apply([trigger("held", priority=50, cooldown_ms=60_000, status="paused", position=9)], 9)

    plan = planner.plan("t1", "evt_1", EVENT, NOW)

    assert outcomes(plan) == [("high", FIRED), ("held", PAUSED), ("low", FREQUENCY_CAPPED)]
    assert [f.trigger.trigger_id for f in plan.fires] == ["high"]
    assert len(plan.unit.events) == 1  # the cap spent by "high"; the paused trigger took no cooldown window


def test_a_cooldown_fire_is_recorded_with_the_event_and_closes_the_window_until_it_passes():
    planner = planner_over(trigger("once-an-hour", cooldown_ms=3_600_000))

    first = planner.plan("t1", "evt_1", EVENT, NOW)
    again = planner.plan("t1", "evt_2", EVENT, NOW + 1_000)
    other_customer = planner.plan("t1", "evt_3", {**EVENT, "customerId": "c2"}, NOW + 1_000)
    later = planner.plan("t1", "evt_4", EVENT, NOW + 3_600_000)

    assert outcomes(first) == [("once-an-hour", FIRED)] and len(first.unit.events) == 1
    assert outcomes(again) == [("once-an-hour", COOLDOWN)] and again.fires == [] and again.unit.events == []
    assert outcomes(other_customer) == [("once-an-hour", FIRED)]
    assert outcomes(later) == [("once-an-hour", FIRED)]
    assert later.unit.events[0].originator_version == first.unit.events[0].originator_version + 1


def test_a_plan_that_was_not_committed_gives_back_the_window_it_took():
    planner = planner_over(trigger("once-an-hour", cooldown_ms=3_600_000))
    lost = planner.plan("t1", "evt_1", EVENT, NOW)

    Planner.release(lost)

    retried = planner.plan("t1", "evt_1", EVENT, NOW + 10)
    assert outcomes(retried) == [("once-an-hour", FIRED)]
    assert retried.unit.events[0].originator_version == lost.unit.events[0].originator_version


def test_a_frequency_cap_is_shared_by_triggers_and_spent_by_the_higher_priority_first():
    caps = (FrequencyCap(limit=1, period_ms=86_400_000),
            FrequencyCap(limit=5, period_ms=60_000, action_types=("webhook",)))
    planner = planner_over(trigger("first", priority=90), trigger("second", priority=50),
                           trigger("receipt", priority=10, ignore_frequency_caps=True), caps=caps)

    plan = planner.plan("t1", "evt_1", EVENT, NOW)
    next_day = planner.plan("t1", "evt_2", EVENT, NOW + 86_400_000)

    assert outcomes(plan) == [("first", FIRED), ("second", FREQUENCY_CAPPED), ("receipt", FIRED)]
    assert len(plan.unit.events) == 1  # one allowance spent: the webhook-only cap does not apply to recommend
    assert outcomes(next_day) == [("first", FIRED), ("second", FREQUENCY_CAPPED), ("receipt", FIRED)]


def test_a_cooldown_suppression_does_not_spend_the_customer_s_allowance():
    planner = planner_over(trigger("cooled", priority=90, cooldown_ms=3_600_000), trigger("capped", priority=10),
                           caps=(FrequencyCap(limit=2, period_ms=86_400_000),))

    plans = [planner.plan("t1", f"evt_{n}", EVENT, NOW + n) for n in range(3)]

    assert [outcomes(p) for p in plans] == [
        [("cooled", FIRED), ("capped", FIRED)],
        [("cooled", COOLDOWN), ("capped", FREQUENCY_CAPPED)],
        [("cooled", COOLDOWN), ("capped", FREQUENCY_CAPPED)],
    ]


def test_a_fire_that_cannot_be_delivered_is_still_a_fire_that_says_why():
    planner = planner_over(trigger("broken", action_type="webhook", config={**WEBHOOK, "url": "not a url"}))

    plan = planner.plan("t1", "evt_1", EVENT, NOW)

    assert outcomes(plan) == [("broken", FIRED)]
    (fire,) = plan.fires
    assert fire.delivery is None and "not an http or https URL" in fire.failure
