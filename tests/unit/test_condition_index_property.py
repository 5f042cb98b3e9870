"""The condition index gives exactly the verdicts of running every condition, whatever the conditions and events."""

from datetime import datetime, timezone

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from application.condition_index import INDEXED_FROM, ConditionIndex
from application.trigger_index import TriggerIndex
from domain.conditions import Condition, InvalidCondition
from tests.unit.fakes import PlainTemplates
from tests.unit.test_conditions_property import (NAMES, conditions, envelopes, event_data, fields, numbers, ranges,
                                                 scalars, texts)

# Conditions an index narrows (equalities and ranges, alone or under `all`), and any others.
indexable = st.one_of(
    st.builds(lambda f, v: {"field": f, "operator": "equals", "value": v}, fields, scalars),
    st.builds(lambda f, v: {"field": f, "operator": "in", "value": v}, fields, st.lists(scalars, min_size=1, max_size=3)),
    *(st.builds(lambda f, v, o=o: {"field": f, "operator": o, "value": v}, fields, numbers | texts)
      for o in ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal")),
    st.builds(lambda f, v: {"field": f, "operator": "between", "value": v}, fields, ranges()),
)
mixed = st.one_of(indexable, indexable, st.lists(indexable | conditions(5), min_size=1, max_size=3).map(
    lambda items: {"all": items}), conditions(4))
many = st.lists(mixed, min_size=INDEXED_FROM, max_size=INDEXED_FROM + 40)
# Data where the fields are scalars most of the time, so that equalities and ranges really decide.
flat_data = st.dictionaries(st.sampled_from(NAMES), scalars | st.floats(allow_nan=False), min_size=1, max_size=4)


def parsed(raw: dict) -> Condition:
    try:
        return Condition.parse(raw)
    except InvalidCondition:  # generated past a limit (nodes, depth): not a condition anyone can save
        assume(False)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(many, flat_data | event_data, envelopes)
def test_the_index_agrees_with_running_every_condition(raw_conditions, data, envelope):
    compiled = tuple(parsed(raw) for raw in raw_conditions)

    indexed = ConditionIndex(compiled).verdicts(data, envelope)
    rebuilt = ConditionIndex(compiled[::-1]).verdicts(data, envelope)  # from the analyses the first build kept

    assert indexed == [condition.matches(data, envelope) for condition in compiled]
    assert rebuilt == indexed[::-1]


def row(n: int, condition: dict, priority: int) -> dict:
    return {"tenant_id": "t1", "trigger_id": f"tr_{n:04d}", "name": f"n{n}", "version": 1, "event_type": "purchase",
            "action_type": "recommend", "action_config": {"decisionFlowId": "df"}, "condition": condition,
            "priority": priority, "cooldown_ms": 0, "status": "active", "deleted": False,
            "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc), "position": n + 1}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(mixed, st.integers(0, 5)), min_size=INDEXED_FROM, max_size=60), flat_data, envelopes)
def test_the_triggers_that_match_are_the_naive_loop_s_in_evaluation_order(triggers, data, envelope):
    for condition, _ in triggers:
        parsed(condition)
    index = TriggerIndex(PlainTemplates())
    index.apply([row(n, condition, priority) for n, (condition, priority) in enumerate(triggers)], len(triggers))

    found = index.matching("t1", ("purchase", "outcome.recorded"), data, envelope)

    naive = [t for t in index.candidates("t1", ("purchase", "outcome.recorded")) if t.condition.matches(data, envelope)]
    assert [t.trigger_id for t in found] == [t.trigger_id for t in naive]


# A change to one trigger: its condition kept (None), one taken from another trigger (an int), or a
# new one; a priority; deleted or not.
changes = st.lists(st.tuples(st.integers(0, 59), st.none() | st.integers(0, 59) | mixed, st.integers(0, 5),
                             st.booleans()), min_size=1, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(mixed, st.integers(0, 5)), min_size=INDEXED_FROM, max_size=60), changes, flat_data,
       envelopes)
def test_after_each_change_the_triggers_that_match_are_still_the_naive_loop_s(triggers, changes, data, envelope):
    for condition, _ in triggers:
        parsed(condition)
    index = TriggerIndex(PlainTemplates())
    rows = [row(n, condition, priority) for n, (condition, priority) in enumerate(triggers)]
    index.apply(rows, len(rows))
    position = len(rows)
    for n, condition, priority, deleted in changes:
        n, position = n % len(rows), position + 1
        if isinstance(condition, int):  # the same condition as another trigger's: shared, not new
            condition = rows[condition % len(rows)]["condition"]
        elif condition is None:
            condition = rows[n]["condition"]
        else:
            parsed(condition)
        rows[n] = {**rows[n], "condition": condition, "priority": priority, "deleted": deleted, "position": position}
        index.apply([rows[n]], position)

        found = index.matching("t1", ("purchase", "outcome.recorded"), data, envelope)

        live = [r for r in rows if not r["deleted"]]
        naive = [r["trigger_id"] for r in sorted(live, key=lambda r: (-r["priority"], r["created_at"], r["trigger_id"]))
                 if Condition.parse(r["condition"]).matches(data, envelope)]
        assert [t.trigger_id for t in found] == naive
