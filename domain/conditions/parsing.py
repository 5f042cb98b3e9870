"""Checking a condition's JSON when a trigger is saved, into a tree of leaves and groups."""

from collections import deque
from dataclasses import dataclass

from domain.conditions.operators import OPERATORS
from domain.conditions.values import kind_of

MAX_DEPTH = 8
MAX_NODES = 256
MAX_TEXT = 1024
MAX_ITEMS = 1000
MAX_SEGMENTS = 32
ENVELOPE_FIELDS = {"$type": "type", "$customerId": "customerId", "$channel": "channel",
                   "$timestamp": "timestamp"}
GROUP_KEYS = ("all", "any", "not")
LEAF_KEYS = ("field", "operator", "value")


class InvalidCondition(ValueError):
    """A malformed condition; details name every offending place, e.g. condition.all[1].operator."""

    def __init__(self, details: list[dict]):
        self.details = details
        first, more = details[0], len(details) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        super().__init__(f"{first['path']}: {first['message']}{suffix}")


@dataclass(frozen=True)
class Leaf:
    path: str
    field: str
    operator: str
    value: object  # None for exists and not_exists, which ignore any value given


@dataclass(frozen=True)
class Group:
    path: str
    kind: str  # all, any or not
    children: tuple


def parse_tree(raw) -> Leaf | Group | None:
    if raw is None:
        return None
    if _count_nodes(raw) > MAX_NODES:
        raise InvalidCondition([_problem("condition", f"a condition holds at most {MAX_NODES} nodes")])
    problems: list[dict] = []
    tree = _node(raw, "condition", 1, problems)
    if problems:
        raise InvalidCondition(problems)
    return tree


def _problem(path: str, message: str) -> dict:
    return {"path": path, "message": message}


def _count_nodes(raw) -> int:
    """Counted before checking, so a huge condition is refused without walking all of it."""
    count, pending = 0, [(raw, 1)]
    while pending and count <= MAX_NODES:
        node, depth = pending.pop()
        count += 1
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            continue
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                pending.extend((child, depth + 1) for child in node[key][:MAX_NODES + 1])
        if "not" in node:
            pending.append((node["not"], depth + 1))
    return count


def _node(raw, path: str, depth: int, problems: list) -> Leaf | Group | None:
    if not isinstance(raw, dict):
        problems.append(_problem(path, f"expected a condition object, got {kind_of(raw)}"))
        return None
    if depth > MAX_DEPTH:
        problems.append(_problem(path, f"conditions nest at most {MAX_DEPTH} levels deep"))
        return None
    for key in raw:
        if key not in GROUP_KEYS and key not in LEAF_KEYS:
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]"
            problems.append(_problem(where, f"unknown key {key!r}"))
    groups = [key for key in GROUP_KEYS if key in raw]
    if groups and any(key in raw for key in LEAF_KEYS):
        problems.append(_problem(path, "a condition is a group (all, any, not) or a leaf "
                                       "(field, operator, value), not both"))
    elif len(groups) > 1:
        problems.append(_problem(path, f"a group holds one of all, any, not; got {', '.join(groups)}"))
    elif groups:
        return _group(raw, groups[0], path, depth, problems)
    elif any(key in raw for key in LEAF_KEYS):
        return _leaf(raw, path, problems)
    else:
        problems.append(_problem(path, "expected a leaf (field, operator, value) or a group (all, any, not)"))
    return None


def _group(raw: dict, kind: str, path: str, depth: int, problems: list) -> Group:
    members, where = raw[kind], f"{path}.{kind}"
    if kind == "not":
        return Group(path, kind, (_node(members, where, depth + 1, problems),))
    if not isinstance(members, list):
        problems.append(_problem(where, f"expected a list of conditions, got {kind_of(members)}"))
        return Group(path, kind, ())
    if not members:
        problems.append(_problem(where, "a group holds at least one condition"))
    children = [_node(child, f"{where}[{index}]", depth + 1, problems) for index, child in enumerate(members)]
    return Group(path, kind, tuple(children))


def _leaf(raw: dict, path: str, problems: list) -> Leaf | None:
    before = len(problems)
    if "field" not in raw:
        problems.append(_problem(f"{path}.field", "field is required"))
    elif message := _field_problem(raw["field"]):
        problems.append(_problem(f"{path}.field", message))
    name = raw.get("operator")
    spec = OPERATORS.get(name) if isinstance(name, str) else None
    if "operator" not in raw:
        problems.append(_problem(f"{path}.operator", "operator is required"))
    elif not isinstance(name, str):
        problems.append(_problem(f"{path}.operator", f"operator must be a string, got {kind_of(name)}"))
    elif spec is None:
        problems.append(_problem(f"{path}.operator", f"unknown operator {name!r}"))
    elif "value" not in raw and spec.needs_value:
        problems.append(_problem(f"{path}.value", f"value is required by operator {name!r}"))
    elif found := _size_problem(raw.get("value")) or (spec.needs_value and spec.problem(raw["value"])):
        problems.append(_problem(f"{path}.value{found[0]}", found[1]))
    if len(problems) > before:
        return None
    return Leaf(path, raw["field"], name, raw["value"] if spec.needs_value else None)


def _field_problem(field) -> str | None:
    if not isinstance(field, str):
        return f"field must be a string, got {kind_of(field)}"
    if len(field) > MAX_TEXT:
        return f"field holds at most {MAX_TEXT} characters"
    if field.startswith("$"):
        if field in ENVELOPE_FIELDS:
            return None
        if field.split(".")[0] in ENVELOPE_FIELDS:
            return f"envelope field {field.split('.')[0]!r} has no further path"
        return f"unknown envelope field {field!r}; use $type, $customerId, $channel or $timestamp"
    segments = field.split(".")
    if "" in segments:
        return f"field {field!r} must be a dot path of non-empty segments, such as cart.items.0.sku"
    if len(segments) > MAX_SEGMENTS:
        return f"field holds at most {MAX_SEGMENTS} path segments"
    return None


def _size_problem(value) -> tuple[str, str] | None:
    """Size limits bound what is stored, whatever the operator (exists keeps an ignored value too)."""
    pending = deque([("", value)])
    while pending:
        where, item = pending.popleft()
        if isinstance(item, str) and len(item) > MAX_TEXT:
            return where, f"strings hold at most {MAX_TEXT} characters"
        if isinstance(item, list):
            if len(item) > MAX_ITEMS:
                return where, f"lists hold at most {MAX_ITEMS} items"
            pending.extend((f"{where}[{index}]", member) for index, member in enumerate(item))
        elif isinstance(item, dict):
            pending.extend((f"{where}.{key}", member) for key, member in item.items())
    return None
