"""The 17 operators: what value each accepts when a trigger is saved, and how each tests a field.

A compiled test takes the field's value and its kind (worked out once per leaf by the caller) and
answers True or False, or None when the kind does not fit the operator (a type mismatch). The
negating operators keep None, so a mismatch never matches either way.
"""

import operator as op
from dataclasses import dataclass
from typing import Callable

from domain.conditions.values import SCALARS, is_finite_number, kind_of, parse_instant

Test = Callable[[object, str], bool | None]
Problem = tuple[str, str] | None  # (where under the value, e.g. "[2]"; message)


@dataclass(frozen=True)
class Operator:
    """exists and not_exists take no value and no test: path resolution alone decides them."""

    needs_value: bool
    problem: Callable[[object], Problem] | None = None
    compile: Callable[[object], Test] | None = None
    expects: Callable[[object], str] | None = None  # what a field must hold, for mismatch reasons
    phrases: tuple[str, str] = ("", "")  # (when it holds, when it does not)


def article(kind: str) -> str:
    return kind if kind == "null" else f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _scalar_problem(value) -> Problem:
    kind = kind_of(value)
    if kind not in SCALARS:
        return "", f"must be a string, number, boolean or null, got {kind}"
    if kind == "number" and not is_finite_number(value):
        return "", "must be a finite number"
    return None


def _ordered_problem(value) -> Problem:
    if kind_of(value) not in ("number", "string"):
        return "", f"must be a number or a string, got {kind_of(value)}"
    return _scalar_problem(value)


def _range_problem(value) -> Problem:
    if kind_of(value) != "list" or len(value) != 2:
        return "", "must be a list of two items, [low, high]"
    for index, bound in enumerate(value):
        if problem := _ordered_problem(bound):
            return f"[{index}]", problem[1]
    low, high = value
    if kind_of(low) != kind_of(high):
        return "", f"low and high must be the same kind, got {kind_of(low)} and {kind_of(high)}"
    if low > high:
        return "", "low must not be greater than high"
    return None


def _members_problem(value) -> Problem:
    if kind_of(value) != "list" or not value:
        return "", "must be a non-empty list of strings, numbers, booleans or nulls"
    for index, member in enumerate(value):
        if problem := _scalar_problem(member):
            return f"[{index}]", problem[1]
    return None


def _text_problem(value) -> Problem:
    return None if kind_of(value) == "string" else ("", f"must be a string, got {kind_of(value)}")


def _instant_problem(value) -> Problem:
    if parse_instant(value) is None:
        return "", "must be an ISO 8601 date-time such as 2026-01-31T09:30:00Z"
    return None


def _compared(compare):
    def compile(value) -> Test:
        want = kind_of(value)
        return lambda actual, kind: compare(actual, value) if kind == want else None
    return compile


def _membership(value) -> Test:
    members = frozenset((kind_of(member), member) for member in value)  # kind keeps True apart from 1

    def test(actual, kind):
        return (kind, actual) in members if kind in SCALARS else None
    return test


def _containment(value) -> Test:
    want = kind_of(value)

    def test(actual, kind):
        if kind == "list":
            return any(kind_of(item) == want and item == value for item in actual)
        if kind == "string" and want == "string":
            return value in actual
        return None
    return test


def _affix(method):
    def compile(value) -> Test:
        return lambda actual, kind: method(actual, value) if kind == "string" else None
    return compile


def _range(value) -> Test:
    low, high = value
    want = kind_of(low)
    return lambda actual, kind: low <= actual <= high if kind == want else None


def _moment(compare):
    def compile(value) -> Test:
        instant = parse_instant(value)

        def test(actual, kind):
            moment = parse_instant(actual) if kind == "string" else None
            return None if moment is None else compare(moment, instant)
        return test
    return compile


def _negation(compile_test):
    def compile(value) -> Test:
        test = compile_test(value)

        def negated(actual, kind):
            result = test(actual, kind)
            return None if result is None else not result
        return negated
    return compile


def _same_kind(value) -> str:
    return article(kind_of(value))


def _container(value) -> str:
    return "a string or a list" if kind_of(value) == "string" else "a list"


def _fixed(text: str):
    return lambda value: text


_ANY_SCALAR = "a string, number, boolean or null"
_TIME = "an ISO 8601 date-time string"

OPERATORS: dict[str, Operator] = {
    "equals": Operator(True, _scalar_problem, _compared(op.eq), _same_kind, ("equals", "does not equal")),
    "not_equals": Operator(True, _scalar_problem, _compared(op.ne), _same_kind, ("does not equal", "equals")),
    "greater_than": Operator(True, _ordered_problem, _compared(op.gt), _same_kind,
                             ("is greater than", "is not greater than")),
    "greater_than_or_equal": Operator(True, _ordered_problem, _compared(op.ge), _same_kind,
                                      ("is greater than or equal to", "is less than")),
    "less_than": Operator(True, _ordered_problem, _compared(op.lt), _same_kind,
                          ("is less than", "is not less than")),
    "less_than_or_equal": Operator(True, _ordered_problem, _compared(op.le), _same_kind,
                                   ("is less than or equal to", "is greater than")),
    "between": Operator(True, _range_problem, _range, lambda bounds: _same_kind(bounds[0]),
                        ("is between", "is not between")),
    "in": Operator(True, _members_problem, _membership, _fixed(_ANY_SCALAR), ("is in", "is not in")),
    "not_in": Operator(True, _members_problem, _negation(_membership), _fixed(_ANY_SCALAR),
                       ("is not in", "is in")),
    "contains": Operator(True, _scalar_problem, _containment, _container, ("contains", "does not contain")),
    "not_contains": Operator(True, _scalar_problem, _negation(_containment), _container,
                             ("does not contain", "contains")),
    "starts_with": Operator(True, _text_problem, _affix(str.startswith), _fixed("a string"),
                            ("starts with", "does not start with")),
    "ends_with": Operator(True, _text_problem, _affix(str.endswith), _fixed("a string"),
                          ("ends with", "does not end with")),
    "exists": Operator(False),
    "not_exists": Operator(False),
    "before": Operator(True, _instant_problem, _moment(op.lt), _fixed(_TIME), ("is before", "is not before")),
    "after": Operator(True, _instant_problem, _moment(op.gt), _fixed(_TIME), ("is after", "is not after")),
}
