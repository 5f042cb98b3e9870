"""Many conditions on one event type, narrowed before they run, as Inngest's expression aggregation does.

Most conditions hold a leaf that must be true for the whole to be: the condition itself, or a leaf
under `all` groups. An equality (`equals`, `in`) on a field is looked up by the event's value of
that field; a range (`greater_than`, …, `between`) by bisecting the sorted thresholds of that field.
Of a condition's required leaves the index takes the one likely to let the fewest through: an
equality on a value few conditions share, else a range (two thousand conditions that all require
`$channel equals pos` each with its own amount threshold are found by the threshold). Only the
conditions these find, and those without such a leaf, run in full. Each index finds a
superset of the conditions that hold, and those that run decide, so the verdicts are exactly the
ones of running every condition (tests/unit/test_condition_index_property.py holds it to that).
"""

import weakref
from bisect import bisect_left, bisect_right
from collections import defaultdict

from domain.conditions import Condition
from domain.conditions.evaluation import resolver
from domain.conditions.parsing import Group, Leaf
from domain.conditions.values import KIND_OF_TYPE, MISSING, SCALARS, kind_of

INDEXED_FROM = 32  # distinct conditions; fewer run faster in a plain loop
CROWDED = 16  # conditions testing one value of a field (a channel, a country): past it, a range narrows more
EQUALITY = ("equals", "in")
LOWER = {"greater_than": bisect_left, "greater_than_or_equal": bisect_right, "between": bisect_right}
UPPER = {"less_than": bisect_right, "less_than_or_equal": bisect_left}


def evaluator(conditions: tuple[Condition, ...]):
    """hits(data, envelope) → the conditions that hold, in no order: indexed when there are many."""
    if len(conditions) < INDEXED_FROM:
        return lambda data, envelope: [condition for condition in conditions if condition.matches(data, envelope)]
    return ConditionIndex(conditions).hits


class ConditionIndex:
    def __init__(self, conditions: tuple[Condition, ...]):
        self.conditions = conditions
        self.always: list[Condition] = []  # conditions with no leaf to index: each runs
        equal: dict[str, dict] = defaultdict(lambda: defaultdict(list))  # field → (kind, value) → conditions
        lower: dict[tuple, list] = defaultdict(list)  # (field, kind, bisect) → [(threshold, condition)]
        upper: dict[tuple, list] = defaultdict(list)
        spans: dict[tuple, list] = defaultdict(list)  # (field, width class) → [(low, high, condition)] of numbers
        required = [_required(condition) for condition in conditions]
        crowds: dict[tuple, int] = defaultdict(int)  # (field, kind, value) → conditions that require it
        for _, keys in required:
            for key in keys:
                crowds[key] += 1
        for condition, (leaves, _) in zip(conditions, required):
            leaf, keys = _narrowest(leaves, crowds)
            if leaf is None:
                self.always.append(condition)
            elif keys is not None:
                for field, kind, value in keys:
                    equal[field][(kind, value)].append(condition)
            elif leaf.operator == "between" and kind_of(leaf.value[0]) == "number":
                low, high = leaf.value
                spans[(leaf.field, _width_class(high - low))].append((low, high, condition))
            else:
                threshold = leaf.value[0] if leaf.operator == "between" else leaf.value
                side, cut = (lower, LOWER[leaf.operator]) if leaf.operator in LOWER else (upper, UPPER[leaf.operator])
                side[(leaf.field, kind_of(threshold), cut)].append((threshold, condition))
        self.equal = [(resolver(field), dict(values)) for field, values in equal.items()]
        self.searches = [*(_bisector(field, kind, cut, entries, True) for (field, kind, cut), entries in lower.items()),
                         *(_bisector(field, kind, cut, entries, False) for (field, kind, cut), entries in upper.items()),
                         *(_spanner(field, entries) for (field, _), entries in spans.items())]

    def hits(self, data, envelope) -> list[Condition]:
        """The conditions that hold, in no order."""
        found = set(self.always)
        for resolve, values in self.equal:
            actual = resolve(data, envelope)
            kind = KIND_OF_TYPE.get(actual.__class__) if actual is not MISSING else None
            if kind in SCALARS:
                found.update(values.get((kind, actual), ()))
        for search in self.searches:
            search(data, envelope, found)
        return [condition for condition in found if condition.matches(data, envelope)]

    def verdicts(self, data, envelope) -> list[bool]:
        """One bool per condition, in order (what running each would say)."""
        held = set(self.hits(data, envelope))
        return [condition in held for condition in self.conditions]


def _bisector(field: str, kind: str, cut, entries: list, below: bool):
    """Adds to `found` the conditions whose threshold is on the right side of the event's value."""
    entries.sort(key=lambda entry: entry[0])
    thresholds, held = [t for t, _ in entries], [c for _, c in entries]
    resolve = resolver(field)

    def search(data, envelope, found: set) -> None:
        actual = resolve(data, envelope)
        if actual is MISSING or (KIND_OF_TYPE.get(actual.__class__) or kind_of(actual)) != kind:
            return
        at = cut(thresholds, actual)
        found.update(held[:at] if below else held[at:])
    return search


def _width_class(width) -> int:
    """Ranges of a field are grouped by width, so that each group's widest bounds how far below the
    event's value a range's low end can be and still hold it."""
    return max(0, int(width)).bit_length()


def _spanner(field: str, entries: list):
    """Adds to `found` the ranges of numbers whose low end is at most the value and at least the value
    less the group's widest range: those that may hold it (the condition then runs in full)."""
    entries.sort(key=lambda entry: entry[0])
    lows, held = [low for low, _, _ in entries], [condition for _, _, condition in entries]
    widest = max(high - low for low, high, _ in entries)
    resolve = resolver(field)

    def search(data, envelope, found: set) -> None:
        actual = resolve(data, envelope)
        if actual is MISSING or KIND_OF_TYPE.get(actual.__class__) != "number":
            return
        found.update(held[bisect_left(lows, actual - widest):bisect_right(lows, actual)])
    return search


# A condition's required leaves, worked out once however often its type's index is rebuilt: one
# changed trigger rebuilds the index of every condition on its type (docs/PERFORMANCE.md).
_REQUIRED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _required(condition: Condition) -> tuple:
    """(leaves, keys): each required leaf with the equality keys it is indexable by (None: it is
    not), and the keys of them all, each once."""
    found = _REQUIRED.get(condition)
    if found is None:
        leaves = tuple((leaf, tuple(_keys(leaf)) if _indexable_equality(leaf) else None)
                       for leaf in _required_leaves(condition.tree))
        found = _REQUIRED[condition] = (leaves, frozenset(key for _, keys in leaves if keys for key in keys))
    return found


def _narrowest(leaves: tuple, crowds: dict) -> tuple:
    """The required leaf likely to let the fewest conditions through, with its keys: an equality on
    a value few conditions share, else a range; (None, None) when no leaf can be indexed (the
    condition always runs)."""
    best, fewest = (None, None), None
    for leaf, keys in leaves:
        if keys is not None:
            through = max(crowds[key] for key in keys)
        elif leaf.operator in LOWER or leaf.operator in UPPER:
            through = CROWDED + 0.5  # unknown: as good as a crowded value, and an equality wins a tie
        else:
            continue
        if fewest is None or through < fewest:
            best, fewest = (leaf, keys), through
    return best


def _indexable_equality(leaf: Leaf) -> bool:
    return leaf.operator in EQUALITY and _scalars(leaf)


def _keys(leaf: Leaf) -> list[tuple]:
    return [(leaf.field, kind_of(value), value) for value in (leaf.value if leaf.operator == "in" else [leaf.value])]


def _required_leaves(node):
    if isinstance(node, Leaf):
        yield node
    elif isinstance(node, Group) and node.kind == "all":
        for child in node.children:
            yield from _required_leaves(child)


def _scalars(leaf: Leaf) -> bool:
    values = leaf.value if leaf.operator == "in" else [leaf.value]
    return all(kind_of(value) in SCALARS for value in values)
