import pytest

from domain.conditions import Condition, Explanation, InvalidCondition, LeafTrace

ENVELOPE = {"type": "purchase", "customerId": "c-42", "channel": "web", "timestamp": "2026-01-31T10:00:00Z"}


def leaf(field, operator, value=None):
    return {"field": field, "operator": operator, "value": value}


def matches(operator, value, actual):
    return Condition.parse(leaf("x", operator, value)).matches({"x": actual}, ENVELOPE)


def invalid(raw) -> list[dict]:
    with pytest.raises(InvalidCondition) as caught:
        Condition.parse(raw)
    return caught.value.details


def nested(depth):
    return leaf("a", "exists") if depth == 1 else {"all": [nested(depth - 1)]}


@pytest.mark.parametrize("operator, value, actual, expected", [
    ("equals", 5, 5, True), ("equals", 5, 5.0, True), ("equals", 5, 6, False),
    ("equals", "a", "a", True), ("equals", "a", "b", False), ("equals", True, True, True),
    ("equals", False, True, False), ("equals", None, None, True),
    ("not_equals", 5, 6, True), ("not_equals", 5, 5, False), ("not_equals", "a", "b", True),
    ("not_equals", True, False, True), ("not_equals", None, None, False),
    ("greater_than", 500, 600, True), ("greater_than", 500, 500, False), ("greater_than", 500, 12, False),
    ("greater_than", "b", "c", True), ("greater_than", 1.5, 2, True),
    ("greater_than_or_equal", 500, 500, True), ("greater_than_or_equal", 500, 499.9, False),
    ("less_than", 500, 12, True), ("less_than", 500, 500, False), ("less_than", "b", "a", True),
    ("less_than_or_equal", 500, 500, True), ("less_than_or_equal", 500, 501, False),
    ("between", [10, 20], 10, True), ("between", [10, 20], 20, True), ("between", [10, 20], 15.5, True),
    ("between", [10, 20], 9, False), ("between", [10, 20], 21, False),
    ("between", ["a", "m"], "c", True), ("between", ["a", "m"], "z", False),
    ("in", ["web", "app"], "web", True), ("in", ["web", "app"], "sms", False), ("in", [1, 2], 2.0, True),
    ("in", [None], None, True), ("in", [1], True, False), ("in", [True], 1, False),
    ("not_in", ["web"], "app", True), ("not_in", ["web"], "web", False), ("not_in", [1], True, True),
    ("contains", "ell", "hello", True), ("contains", "xyz", "hello", False),
    ("contains", "vip", ["new", "vip"], True), ("contains", "gold", ["vip"], False),
    ("contains", 1, [1.0, 2], True), ("contains", 1, [True], False), ("contains", True, [1], False),
    ("contains", None, [None], True), ("contains", "a", [["a"]], False),
    ("not_contains", "xyz", "hello", True), ("not_contains", "ell", "hello", False),
    ("not_contains", "gold", ["vip"], True), ("not_contains", "vip", ["vip"], False),
    ("not_contains", 1, [True], True),
    ("starts_with", "he", "hello", True), ("starts_with", "lo", "hello", False),
    ("ends_with", "lo", "hello", True), ("ends_with", "he", "hello", False),
    ("before", "2026-02-01T00:00:00Z", "2026-01-31T23:59:59Z", True),
    ("before", "2026-01-31", "2026-01-31T00:00:00Z", False),
    ("before", "2026-01-31T10:00:00+02:00", "2026-01-31T09:00:00Z", False),
    ("before", "2026-01-31T10:00:00+02:00", "2026-01-31T07:59:59", True),
    ("after", "2026-01-31T10:00:00+02:00", "2026-01-31T09:00:00Z", True),
    ("after", "2026-01-31", "2026-01-30T23:59:59", False),
    ("after", "2026-01-31T00:00:00", "2026-01-31T00:00:00.000001+00:00", True),
])
def test_operator(operator, value, actual, expected):
    assert matches(operator, value, actual) is expected


@pytest.mark.parametrize("data, expected", [
    ({"x": 1}, True), ({"x": None}, True), ({"x": {"y": 1}}, True), ({}, False), ({"y": 1}, False),
])
def test_exists_and_not_exists(data, expected):
    assert Condition.parse(leaf("x", "exists")).matches(data, ENVELOPE) is expected
    assert Condition.parse(leaf("x", "not_exists")).matches(data, ENVELOPE) is not expected


def test_exists_ignores_a_value():
    assert Condition.parse({"field": "x", "operator": "exists", "value": [1, 2]}).matches({"x": 0}, ENVELOPE)


@pytest.mark.parametrize("operator, value, actual, reason", [
    ("greater_than", 500, "600", "x: expected a number, got string"),
    ("greater_than", 500, True, "x: expected a number, got boolean"),
    ("greater_than", "a", 5, "x: expected a string, got number"),
    ("less_than_or_equal", 5, None, "x: expected a number, got null"),
    ("equals", 1, True, "x: expected a number, got boolean"),
    ("equals", True, 1, "x: expected a boolean, got number"),
    ("equals", None, 0, "x: expected null, got number"),
    ("equals", "5", 5, "x: expected a string, got number"),
    ("not_equals", 5, "5", "x: expected a number, got string"),
    ("not_equals", "a", ["a"], "x: expected a string, got list"),
    ("between", [1, 10], "5", "x: expected a number, got string"),
    ("in", ["a"], ["a"], "x: expected a string, number, boolean or null, got list"),
    ("not_in", ["a"], {"k": 1}, "x: expected a string, number, boolean or null, got object"),
    ("contains", "a", 5, "x: expected a string or a list, got number"),
    ("contains", 5, "a5", "x: expected a list, got string"),
    ("not_contains", "a", 5, "x: expected a string or a list, got number"),
    ("starts_with", "a", 5, "x: expected a string, got number"),
    ("ends_with", "a", None, "x: expected a string, got null"),
    ("before", "2026-01-31", 1700000000, "x: expected an ISO 8601 date-time string, got number"),
    ("after", "2026-01-31", "yesterday", 'x: "yesterday" is not an ISO 8601 date-time'),
])
def test_type_mismatch_never_matches_and_says_why(operator, value, actual, reason):
    condition = Condition.parse(leaf("x", operator, value))
    explanation = condition.explain({"x": actual}, ENVELOPE)
    assert condition.matches({"x": actual}, ENVELOPE) is False
    assert (explanation.matched, explanation.reason) == (False, reason)


@pytest.mark.parametrize("operator, value", [
    ("equals", 1), ("not_equals", 1), ("greater_than", 1), ("greater_than_or_equal", 1), ("less_than", 1),
    ("less_than_or_equal", 1), ("between", [1, 2]), ("in", [1]), ("not_in", [1]), ("contains", "a"),
    ("not_contains", "a"), ("starts_with", "a"), ("ends_with", "a"), ("before", "2026-01-31"),
    ("after", "2026-01-31"),
])
def test_a_missing_field_never_matches(operator, value):
    condition = Condition.parse(leaf("cart.items.3.sku", operator, value))
    data = {"cart": {"items": [{"sku": "a"}]}}
    assert condition.matches(data, ENVELOPE) is False
    assert condition.explain(data, ENVELOPE).reason == "cart.items.3.sku: missing"


@pytest.mark.parametrize("field, data, expected", [
    ("cart.items.1.sku", {"cart": {"items": [{"sku": "a"}, {"sku": "b"}]}}, "b"),
    ("cart.items.0", {"cart": {"items": ["b"]}}, "b"),
    ("cart.items.0.sku", {"cart": {"items": {"0": {"sku": "b"}}}}, "b"),
    ("0", {"0": "b"}, "b"),
    ("cart.items.2.sku", {"cart": {"items": [{"sku": "b"}]}}, None),
    ("cart.items.-1.sku", {"cart": {"items": [{"sku": "b"}]}}, None),
    ("cart.items.first", {"cart": {"items": ["b"]}}, None),
    ("cart.name.0", {"cart": {"name": "b"}}, None),
    ("cart.items.0", {"cart": None}, None),
])
def test_dot_paths_and_list_indexes(field, data, expected):
    explanation = Condition.parse(leaf(field, "equals", "b")).explain(data, ENVELOPE)
    assert explanation.trace[0].found is (expected is not None)
    assert explanation.trace[0].actual == expected
    assert explanation.matched is (expected == "b")


@pytest.mark.parametrize("data", [None, [], ["x"], "x", 5, True])
def test_data_that_is_not_an_object_has_no_fields(data):
    condition = Condition.parse({"any": [leaf("x", "exists"), leaf("0", "equals", "x")]})
    assert condition.matches(data, ENVELOPE) is False
    assert Condition.parse(leaf("x", "not_exists")).matches(data, ENVELOPE) is True


@pytest.mark.parametrize("field, value", [
    ("$type", "purchase"), ("$customerId", "c-42"), ("$channel", "web"), ("$timestamp", "2026-01-31T10:00:00Z"),
])
def test_envelope_fields(field, value):
    assert Condition.parse(leaf(field, "equals", value)).matches({}, ENVELOPE) is True
    assert Condition.parse(leaf(field, "equals", value + "?")).matches({}, ENVELOPE) is False
    assert Condition.parse(leaf(field, "exists")).matches({}, {}) is False


def test_envelope_timestamp_compares_as_a_time():
    assert Condition.parse(leaf("$timestamp", "after", "2026-01-31T11:00:00+02:00")).matches({}, ENVELOPE)
    assert not Condition.parse(leaf("$timestamp", "before", "2026-01-31")).matches({}, ENVELOPE)


def test_envelope_fields_are_not_data_fields():
    assert not Condition.parse(leaf("$type", "exists")).matches({"$type": "x", "type": "x"}, {})


@pytest.mark.parametrize("raw, data, expected", [
    ({"all": [leaf("a", "equals", 1), leaf("b", "equals", 2)]}, {"a": 1, "b": 2}, True),
    ({"all": [leaf("a", "equals", 1), leaf("b", "equals", 2)]}, {"a": 1, "b": 3}, False),
    ({"any": [leaf("a", "equals", 1), leaf("b", "equals", 2)]}, {"a": 0, "b": 2}, True),
    ({"any": [leaf("a", "equals", 1), leaf("b", "equals", 2)]}, {"a": 0, "b": 0}, False),
    ({"not": leaf("a", "equals", 1)}, {"a": 2}, True),
    ({"not": leaf("a", "equals", 1)}, {"a": 1}, False),
    ({"not": leaf("a", "equals", 1)}, {"a": "1"}, True),
    ({"all": [{"any": [leaf("a", "exists"), leaf("b", "exists")]}, {"not": leaf("c", "exists")}]}, {"b": 0}, True),
    ({"all": [{"any": [leaf("a", "exists"), leaf("b", "exists")]}, {"not": leaf("c", "exists")}]},
     {"b": 0, "c": 0}, False),
])
def test_groups(raw, data, expected):
    condition = Condition.parse(raw)
    assert condition.matches(data, ENVELOPE) is expected
    assert condition.explain(data, ENVELOPE).matched is expected


def test_nesting_to_depth_8_is_accepted_and_depth_9_is_not():
    assert Condition.parse(nested(8)).matches({"a": 1}, ENVELOPE)
    assert invalid(nested(9)) == [{"path": "condition" + ".all[0]" * 8,
                                   "message": "conditions nest at most 8 levels deep"}]


@pytest.mark.parametrize("raw, path", [
    ({"field": "a", "operator": "gt", "value": 1}, "condition.operator"),
    ({"all": [leaf("a", "exists"), {"field": "a", "operator": "gt", "value": 1}]}, "condition.all[1].operator"),
    ({"field": "a", "operator": 5, "value": 1}, "condition.operator"),
    ({"operator": "equals", "value": 1}, "condition.field"),
    ({"field": "a", "value": 1}, "condition.operator"),
    ({"field": "a", "operator": "equals"}, "condition.value"),
    ({"any": [{"not": leaf("", "exists")}]}, "condition.any[0].not.field"),
    (leaf("a..b", "exists"), "condition.field"),
    (leaf(".a", "exists"), "condition.field"),
    (leaf("$foo", "exists"), "condition.field"),
    (leaf("$type.name", "exists"), "condition.field"),
    (leaf(".".join(["a"] * 33), "exists"), "condition.field"),
    (leaf(5, "exists"), "condition.field"),
    (leaf("a", "equals", [1]), "condition.value"),
    (leaf("a", "equals", {"b": 1}), "condition.value"),
    (leaf("a", "not_equals", float("nan")), "condition.value"),
    (leaf("a", "greater_than", True), "condition.value"),
    (leaf("a", "greater_than_or_equal", [1]), "condition.value"),
    (leaf("a", "less_than", None), "condition.value"),
    (leaf("a", "less_than_or_equal", float("inf")), "condition.value"),
    (leaf("a", "between", [1, 2, 3]), "condition.value"),
    (leaf("a", "between", [1, "b"]), "condition.value"),
    (leaf("a", "between", [5, 1]), "condition.value"),
    (leaf("a", "between", 5), "condition.value"),
    (leaf("a", "between", [1, True]), "condition.value[1]"),
    (leaf("a", "in", "web"), "condition.value"),
    (leaf("a", "in", []), "condition.value"),
    (leaf("a", "in", [1, [2]]), "condition.value[1]"),
    (leaf("a", "not_in", {"a": 1}), "condition.value"),
    (leaf("a", "contains", [1]), "condition.value"),
    (leaf("a", "not_contains", {}), "condition.value"),
    (leaf("a", "starts_with", 5), "condition.value"),
    (leaf("a", "ends_with", None), "condition.value"),
    (leaf("a", "before", "yesterday"), "condition.value"),
    (leaf("a", "before", "2026-02-30"), "condition.value"),
    (leaf("a", "after", 1700000000), "condition.value"),
    ({"all": []}, "condition.all"),
    ({"any": []}, "condition.any"),
    ({"all": {"field": "a", "operator": "exists"}}, "condition.all"),
    ({"not": [leaf("a", "exists")]}, "condition.not"),
    ({"not": None}, "condition.not"),
    ({"field": "a", "operator": "exists", "extra": 1}, "condition.extra"),
    ({"all": [leaf("a", "exists")], "x": 1}, "condition.x"),
    ({"all": [leaf("a", "exists")], "field": "a"}, "condition"),
    ({"all": [leaf("a", "exists")], "any": [leaf("a", "exists")]}, "condition"),
    ({}, "condition"),
    ("a > 5", "condition"),
    ([leaf("a", "exists")], "condition"),
    ({"all": [5]}, "condition.all[0]"),
    ({"any": [leaf("a", "exists"), None]}, "condition.any[1]"),
    (leaf("a", "equals", "x" * 1025), "condition.value"),
    (leaf("a", "in", ["x" * 1025]), "condition.value[0]"),
    (leaf("a", "in", list(range(1001))), "condition.value"),
    (leaf("x" * 1025, "exists"), "condition.field"),
    ({"field": "a", "operator": "exists", "value": {"k": ["x" * 1025]}}, "condition.value.k[0]"),
    ({"any": [leaf("a", "exists")] * 256}, "condition"),
])
def test_invalid_conditions_name_the_offending_path(raw, path):
    assert [detail["path"] for detail in invalid(raw)] == [path]


@pytest.mark.parametrize("raw, message", [
    ({"field": "a", "operator": "gt", "value": 1}, "unknown operator 'gt'"),
    ({"operator": "equals", "value": 1}, "field is required"),
    (leaf("$foo", "exists"), "unknown envelope field '$foo'; use $type, $customerId, $channel or $timestamp"),
    (leaf("$type.name", "exists"), "envelope field '$type' has no further path"),
    (leaf("a", "greater_than", True), "must be a number or a string, got boolean"),
    (leaf("a", "in", "web"), "must be a non-empty list of strings, numbers, booleans or nulls"),
    (leaf("a", "before", "yesterday"), "must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z"),
    ({"all": []}, "a group holds at least one condition"),
    ({"field": "a", "operator": "exists", "extra": 1}, "unknown key 'extra'"),
    ({"any": [leaf("a", "exists")] * 256}, "a condition holds at most 256 nodes"),
])
def test_invalid_condition_messages(raw, message):
    assert [detail["message"] for detail in invalid(raw)] == [message]


def test_every_problem_is_reported():
    raw = {"all": [leaf("a..b", "gt", 1), 5, leaf("a", "in", [])], "x": 1}
    assert [detail["path"] for detail in invalid(raw)] == [
        "condition.x", "condition.all[0].field", "condition.all[0].operator", "condition.all[1]",
        "condition.all[2].value"]


def test_invalid_condition_is_a_value_error_with_a_summary():
    with pytest.raises(ValueError, match=r"^condition.operator: unknown operator 'gt'$"):
        Condition.parse({"field": "a", "operator": "gt", "value": 1})
    with pytest.raises(InvalidCondition, match=r"\(and 1 more problem\)$"):
        Condition.parse({"all": [leaf("a", "gt"), leaf("b", "lt")]})


@pytest.mark.parametrize("raw", [
    {"any": [leaf("a", "exists")] * 255},
    leaf("a", "equals", "x" * 1024),
    leaf("a", "in", list(range(1000))),
    leaf(".".join(["a"] * 32), "exists"),
    leaf("a", "before", "2026-01-31T10:00:00.5+05:30"),
    leaf("a", "after", "2026-01-31T10:00"),
])
def test_limits_and_formats_at_the_edge_are_accepted(raw):
    assert Condition.parse(raw).raw == raw


def test_explain_traces_every_leaf_even_when_matching_would_stop_early():
    condition = Condition.parse({"all": [
        leaf("amount", "greater_than", 500),
        leaf("$channel", "in", ["web", "app"]),
        {"not": leaf("coupon", "exists")},
    ]})
    explanation = condition.explain({"amount": 12}, ENVELOPE)
    assert explanation == Explanation(False, "amount: 12 is not greater than 500", [
        LeafTrace("condition.all[0]", "amount", "greater_than", 500, 12, True, False,
                  "amount: 12 is not greater than 500"),
        LeafTrace("condition.all[1]", "$channel", "in", ["web", "app"], "web", True, True,
                  '$channel: "web" is in ["web", "app"]'),
        LeafTrace("condition.all[2].not", "coupon", "exists", None, None, False, False, "coupon: missing"),
    ])


def test_explain_when_everything_matches():
    condition = Condition.parse({"all": [leaf("amount", "between", [10, 20]), leaf("tags", "contains", "vip")]})
    explanation = condition.explain({"amount": 15, "tags": ["vip"]}, ENVELOPE)
    assert (explanation.matched, explanation.reason) == (True, "All conditions matched")
    assert [t.reason for t in explanation.trace] == ['amount: 15 is between 10 and 20', 'tags: ["vip"] contains "vip"']


@pytest.mark.parametrize("raw, data, reason", [
    ({"any": [leaf("a", "equals", 1), leaf("b", "equals", 2)]}, {"a": 0, "b": 0}, "a: 0 does not equal 1"),
    ({"all": [leaf("a", "exists"), leaf("b", "not_exists")]}, {"a": 0, "b": 0}, "b: exists"),
    ({"not": leaf("a", "greater_than", 5)}, {"a": 6}, "not: a: 6 is greater than 5"),
    ({"not": {"all": [leaf("a", "exists")]}}, {"a": 6}, "not: all 1 conditions matched"),
    (leaf("at", "before", "2026-01-31"), {"at": "2026-02-01"}, 'at: "2026-02-01" is not before "2026-01-31"'),
])
def test_explain_reasons(raw, data, reason):
    explanation = Condition.parse(raw).explain(data, ENVELOPE)
    assert (explanation.matched, explanation.reason) == (False, reason)


def test_leaf_trace_as_dict_is_json_ready():
    trace = Condition.parse(leaf("a", "equals", 1)).explain({"a": 1}, ENVELOPE).trace[0]
    assert trace.as_dict() == {"path": "condition", "field": "a", "operator": "equals", "expected": 1,
                               "actual": 1, "found": True, "matched": True, "reason": "a: 1 equals 1"}


def test_no_condition_always_fires():
    condition = Condition.parse(None)
    assert condition.raw is None
    assert condition.matches({}, {}) is True
    assert condition.explain("anything", None) == Explanation(True, "No condition: always fires", [])


def test_raw_is_kept_for_storage():
    raw = {"any": [leaf("a", "exists")]}
    assert Condition.parse(raw).raw == raw
