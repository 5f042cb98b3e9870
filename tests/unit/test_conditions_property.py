"""Property tests: the condition engine never raises, and agrees with a naive reference interpreter."""

from datetime import datetime, timezone
from functools import lru_cache

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.conditions import Condition, InvalidCondition

NAMES = ["a", "b", "0", "1"]
ENVELOPE_FIELDS = ["$type", "$customerId", "$channel", "$timestamp"]
TIMES = ["2026-01-31", "2026-01-31T10:00:00Z", "2026-01-31T10:00:00+02:00", "2026-01-31T08:00:00",
         "2026-01-31T09:59:59.999999-00:00", "2026-02-01T00:00:00+05:30"]
TEXTS = ["", "a", "ab", "b", "ba", "web", *TIMES]
VALUE_OPERATORS = ["equals", "not_equals", "greater_than", "greater_than_or_equal", "less_than",
                   "less_than_or_equal", "between", "in", "not_in", "contains", "not_contains",
                   "starts_with", "ends_with", "before", "after"]

texts = st.sampled_from(TEXTS) | st.text(max_size=5)
numbers = st.integers(-3, 3) | st.floats(-3, 3) | st.integers()
scalars = st.none() | st.booleans() | numbers | texts
json_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20)
# Event data built from the names conditions use, so that most fields resolve and leaves really decide.
event_values = st.recursive(
    scalars | st.floats(),
    lambda children: (st.lists(children, min_size=1, max_size=3)
                      | st.dictionaries(st.sampled_from(NAMES), children, min_size=1, max_size=4)),
    max_leaves=12)
event_data = st.dictionaries(st.sampled_from(NAMES), event_values, min_size=2, max_size=4)
envelopes = st.fixed_dictionaries({}, optional={
    "type": texts, "customerId": texts, "channel": scalars, "timestamp": st.sampled_from(TIMES) | scalars})
fields = st.one_of(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), min_size=2, max_size=3).map(".".join),
                   st.sampled_from(ENVELOPE_FIELDS))
ordered = numbers | texts


@st.composite
def ranges(draw):
    bounds = draw(st.lists(numbers, min_size=2, max_size=2) | st.lists(texts, min_size=2, max_size=2))
    return sorted(bounds)


VALUES = {
    "equals": scalars, "not_equals": scalars,
    "greater_than": ordered, "greater_than_or_equal": ordered, "less_than": ordered, "less_than_or_equal": ordered,
    "between": ranges(),
    "in": st.lists(scalars, min_size=1, max_size=4), "not_in": st.lists(scalars, min_size=1, max_size=4),
    "contains": scalars, "not_contains": scalars, "starts_with": texts, "ends_with": texts,
    "before": st.sampled_from(TIMES), "after": st.sampled_from(TIMES),
}
leaves = st.one_of(
    st.builds(lambda field, operator: {"field": field, "operator": operator},
              fields, st.sampled_from(["exists", "not_exists"])),
    *(st.builds(lambda field, value, operator=operator: {"field": field, "operator": operator, "value": value},
                fields, strategy) for operator, strategy in VALUES.items()),
)


@lru_cache
def conditions(depth: int = 1):
    if depth == 8:
        return leaves
    children = st.deferred(lambda: conditions(depth + 1))
    return st.one_of(
        leaves, leaves,
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"all": items}),
        st.lists(children, min_size=1, max_size=3).map(lambda items: {"any": items}),
        children.map(lambda item: {"not": item}),
    )


def kind(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object"}.get(type(value), "other")


def same(a, b):
    return kind(a) == kind(b) and a == b


def when(text):
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def lookup(field, data, envelope):
    """(found, value), walked the obvious way."""
    if field.startswith("$"):
        key = field[1:]
        return (True, envelope[key]) if isinstance(envelope, dict) and key in envelope else (False, None)
    here = data
    if not isinstance(here, dict):
        return False, None
    for segment in field.split("."):
        if isinstance(here, dict) and segment in here:
            here = here[segment]
        elif isinstance(here, list) and segment.isdigit() and int(segment) < len(here):
            here = here[int(segment)]
        else:
            return False, None
    return True, here


def reference(condition, data, envelope):
    if condition is None:
        return True
    if "all" in condition:
        return all(reference(child, data, envelope) for child in condition["all"])
    if "any" in condition:
        return any(reference(child, data, envelope) for child in condition["any"])
    if "not" in condition:
        return not reference(condition["not"], data, envelope)
    operator, value = condition["operator"], condition.get("value")
    found, actual = lookup(condition["field"], data, envelope)
    if operator == "exists":
        return found
    if operator == "not_exists":
        return not found
    if not found:
        return False
    a, v = kind(actual), kind(value)
    scalar = a in ("null", "boolean", "number", "string")
    if operator == "equals":
        return a == v and actual == value
    if operator == "not_equals":
        return a == v and actual != value
    if operator in ("greater_than", "greater_than_or_equal", "less_than", "less_than_or_equal"):
        if a != v:
            return False
        return {"greater_than": actual > value, "greater_than_or_equal": actual >= value,
                "less_than": actual < value, "less_than_or_equal": actual <= value}[operator]
    if operator == "between":
        return a == kind(value[0]) and value[0] <= actual <= value[1]
    if operator in ("in", "not_in"):
        if not scalar:
            return False
        member = any(same(actual, item) for item in value)
        return member if operator == "in" else not member
    if operator in ("contains", "not_contains"):
        if a == "list":
            inside = any(same(item, value) for item in actual)
        elif a == "string" and v == "string":
            inside = value in actual
        else:
            return False
        return inside if operator == "contains" else not inside
    if operator in ("starts_with", "ends_with"):
        if a != "string":
            return False
        return actual.startswith(value) if operator == "starts_with" else actual.endswith(value)
    if operator in ("before", "after"):
        moment = when(actual) if a == "string" else None
        if moment is None:
            return False
        return moment < when(value) if operator == "before" else moment > when(value)
    raise AssertionError(operator)


def leaves_of(condition):
    if "all" in condition or "any" in condition:
        return [leaf for child in condition.get("all", condition.get("any")) for leaf in leaves_of(child)]
    return leaves_of(condition["not"]) if "not" in condition else [condition]


def plant(data, envelope, field, value):
    """Puts value where field points, making the path exist (unless a list stands on a name segment)."""
    if field.startswith("$"):
        envelope[field[1:]] = value
        return
    *parents, last = field.split(".")
    here = data
    for segment in parents:
        child = here.get(segment) if isinstance(here, dict) else here[int(segment)] if fits(here, segment) else None
        if not isinstance(child, (dict, list)):
            child = {}
            if not put(here, segment, child):
                return
        here = child
    put(here, last, value)


def fits(items, segment):
    if segment.isdigit() and int(segment) >= len(items):
        items.extend([None] * (int(segment) + 1 - len(items)))
    return segment.isdigit()


def put(container, segment, value) -> bool:
    if isinstance(container, dict):
        container[segment] = value
    elif fits(container, segment):
        container[int(segment)] = value
    else:
        return False
    return True


def near(value):
    """Values likely to decide a leaf: its own value, a bound or member of it, or anything."""
    options = [st.just(value), scalars, st.sampled_from(TIMES), st.lists(scalars | st.just(value), max_size=3)]
    if isinstance(value, list):
        options.append(st.sampled_from(value))
    if isinstance(value, str):
        options.append(st.sampled_from(["x" + value, value + "x", value[1:]]))
    return st.one_of(options)


@st.composite
def cases(draw):
    raw, data, envelope = draw(conditions()), draw(event_data), draw(envelopes)
    for leaf in leaves_of(raw):
        if draw(st.integers(0, 4)):
            plant(data, envelope, leaf["field"], draw(near(leaf.get("value"))))
    return raw, data, envelope


def leaf_count(condition):
    if "all" in condition or "any" in condition:
        return sum(leaf_count(child) for child in condition.get("all", condition.get("any")))
    return leaf_count(condition["not"]) if "not" in condition else 1


@settings(max_examples=300, deadline=None)
@given(conditions(), json_data, envelopes)
def test_matching_never_raises_and_explain_agrees(raw, data, envelope):
    condition = Condition.parse(raw)
    explanation = condition.explain(data, envelope)
    assert condition.matches(data, envelope) is explanation.matched
    assert len(explanation.trace) == leaf_count(raw)
    assert all(isinstance(trace.reason, str) for trace in explanation.trace)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_matching_agrees_with_a_reference_interpreter(case):
    raw, data, envelope = case
    condition = Condition.parse(raw)
    assert condition.matches(data, envelope) is reference(raw, data, envelope)
    assert condition.explain(data, envelope).matched is reference(raw, data, envelope)


condition_keys = st.sampled_from(["field", "operator", "value", "all", "any", "not", "other"])
condition_like = st.recursive(
    st.none() | st.booleans() | numbers | texts | st.sampled_from([*VALUE_OPERATORS, "exists", *ENVELOPE_FIELDS]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(condition_keys, children, max_size=4),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(json_data | condition_like, event_data, envelopes)
def test_parse_accepts_or_raises_invalid_condition_only(raw, data, envelope):
    try:
        condition = Condition.parse(raw)
    except InvalidCondition as error:
        assert error.details
        assert all(detail["path"].startswith("condition") and detail["message"] for detail in error.details)
    else:
        assert condition.matches(data, envelope) is condition.explain(data, envelope).matched
