"""How the condition language sees a JSON value: its kind, its display, and instants in time."""

import json
from datetime import datetime, timezone

MISSING = object()  # a path that does not resolve; distinct from a JSON null
SCALARS = frozenset({"string", "number", "boolean", "null"})
KIND_OF_TYPE = {str: "string", int: "number", float: "number", bool: "boolean",
                type(None): "null", list: "list", dict: "object"}


def kind_of(value) -> str:
    """The JSON kind of a value; a bool is never a number."""
    kind = KIND_OF_TYPE.get(value.__class__)  # hot paths inline this lookup and call kind_of on a miss
    if kind is not None:
        return kind
    # Subclasses are rare (JSON decoders build exact types); bool must be tested before int.
    for cls in (bool, str, int, float, list, dict):
        if isinstance(value, cls):
            return KIND_OF_TYPE[cls]
    return "unsupported value"


def is_finite_number(value) -> bool:
    return kind_of(value) == "number" and value - value == 0  # false for NaN and infinities


def parse_instant(text) -> datetime | None:
    """An ISO 8601 date-time as an aware datetime (naive means UTC), or None when it is not one."""
    if kind_of(text) != "string":
        return None
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=timezone.utc)


def show(value) -> str:
    """A short JSON-like rendering for reasons; never fails and never grows with the event's size."""
    kind = kind_of(value)
    if kind == "string":
        return json.dumps(value if len(value) <= 64 else value[:61] + "...", ensure_ascii=False)
    if kind == "list":
        if len(value) <= 5 and all(kind_of(item) in SCALARS for item in value):
            return "[" + ", ".join(show(item) for item in value) + "]"
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if kind == "object":
        return "an object"
    if kind == "unsupported value":
        return kind
    try:
        return json.dumps(value)
    except ValueError:  # an integer too long for str(); Python caps digits to stop slow conversions
        return "a very large number"
