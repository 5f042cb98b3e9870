"""Running a checked condition against one event: fast closures for matching, full traces for explaining."""

from dataclasses import dataclass
from typing import Callable

from domain.conditions.operators import OPERATORS
from domain.conditions.parsing import ENVELOPE_FIELDS, Group, Leaf
from domain.conditions.values import KIND_OF_TYPE, MISSING, kind_of, show

Resolve = Callable[[object, object], object]
Match = Callable[[object, object], bool]


@dataclass(frozen=True)
class LeafTrace:
    path: str
    field: str
    operator: str
    expected: object
    actual: object
    found: bool
    matched: bool
    reason: str

    def as_dict(self) -> dict:
        # Not dataclasses.asdict: that deep-copies expected and actual, which may be large event data.
        return {"path": self.path, "field": self.field, "operator": self.operator, "expected": self.expected,
                "actual": self.actual, "found": self.found, "matched": self.matched, "reason": self.reason}


@dataclass(frozen=True)
class Explanation:
    matched: bool
    reason: str
    trace: list[LeafTrace]


def resolver(field: str) -> Resolve:
    """Reads a field from (data, envelope); MISSING when the path does not resolve."""
    if field in ENVELOPE_FIELDS:
        key = ENVELOPE_FIELDS[field]
        return lambda data, envelope: envelope.get(key, MISSING) if isinstance(envelope, dict) else MISSING
    steps = tuple((key, int(key) if key.isascii() and key.isdigit() else None) for key in field.split("."))
    if len(steps) == 1:
        key = field
        return lambda data, envelope: data.get(key, MISSING) if isinstance(data, dict) else MISSING

    def resolve(data, envelope):
        if not isinstance(data, dict):
            return MISSING
        value = data
        for key, index in steps:
            if isinstance(value, dict):
                value = value.get(key, MISSING)
            elif index is not None and isinstance(value, list) and index < len(value):
                value = value[index]
            else:
                return MISSING
        return value
    return resolve


def matcher(node: Leaf | Group) -> Match:
    if isinstance(node, Group):
        return _group_matcher(node.kind, [matcher(child) for child in node.children])
    resolve = resolver(node.field)
    if node.operator == "exists":
        return lambda data, envelope: resolve(data, envelope) is not MISSING
    if node.operator == "not_exists":
        return lambda data, envelope: resolve(data, envelope) is MISSING
    test, kinds = OPERATORS[node.operator].compile(node.value), KIND_OF_TYPE

    def leaf(data, envelope):
        actual = resolve(data, envelope)
        return actual is not MISSING and test(actual, kinds.get(actual.__class__) or kind_of(actual)) is True
    return leaf


def _group_matcher(kind: str, children: list[Match]) -> Match:
    if kind == "not":
        child = children[0]
        return lambda data, envelope: not child(data, envelope)

    def every(data, envelope):
        for child in children:
            if not child(data, envelope):
                return False
        return True

    def some(data, envelope):
        for child in children:
            if child(data, envelope):
                return True
        return False
    return every if kind == "all" else some


Explain = Callable[[object, object, list], tuple[bool, str]]


def explainer(node: Leaf | Group) -> Explain:
    """Like matcher, but every leaf runs, so the trace shows the whole condition against the event."""
    if isinstance(node, Group):
        return _group_explainer(node.kind, [explainer(child) for child in node.children])
    resolve = resolver(node.field)
    judge = _EXISTENCE.get(node.operator) or _judge(node)

    def leaf(data, envelope, trace):
        actual = resolve(data, envelope)
        found = actual is not MISSING
        matched, reason = judge(actual) if found else (node.operator == "not_exists", "missing")
        reason = f"{node.field}: {reason}"
        trace.append(LeafTrace(node.path, node.field, node.operator, node.value, actual if found else None,
                               found, matched, reason))
        return matched, reason
    return leaf


_EXISTENCE = {"exists": lambda actual: (True, "exists"), "not_exists": lambda actual: (False, "exists")}


def _judge(leaf: Leaf) -> Callable[[object], tuple[bool, str]]:
    operator = OPERATORS[leaf.operator]
    test, (holds, fails) = operator.compile(leaf.value), operator.phrases
    expected = (f"{show(leaf.value[0])} and {show(leaf.value[1])}" if leaf.operator == "between"
                else show(leaf.value))
    expects = operator.expects(leaf.value)

    def judge(actual):
        kind = kind_of(actual)
        result = test(actual, kind)
        if result is None:
            if leaf.operator in ("before", "after") and kind == "string":
                return False, f"{show(actual)} is not an ISO 8601 date-time"
            return False, f"expected {expects}, got {kind}"
        return result, f"{show(actual)} {holds if result else fails} {expected}"
    return judge


def _group_explainer(kind: str, children: list[Explain]) -> Explain:
    def group(data, envelope, trace):
        results = [child(data, envelope, trace) for child in children]
        if kind == "not":
            matched, reason = results[0]
            return not matched, f"not: {reason}"
        verdicts = [matched for matched, _ in results]
        matched = all(verdicts) if kind == "all" else any(verdicts)
        if kind == "all" and matched:
            return True, f"all {len(results)} conditions matched"
        # The first child that agrees with the verdict explains it: the first failure, or any's first match.
        return matched, next(reason for verdict, reason in results if verdict == matched)
    return group
