"""Cursor-paged lists: `{data, nextCursor}`, the cursor being the last row's sort key as base64url JSON.

A cursor we did not give is a 400.
"""

import base64
import binascii

from typing import Callable

import orjson
from aiohttp import web


def encode(*values) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode(text: str | None, *kinds: type) -> tuple | None:
    if text is None:
        return None
    try:
        values = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        values = None
    if (not isinstance(values, list) or len(values) != len(kinds)
            or not all(type(v) is kind for v, kind in zip(values, kinds))):
        raise web.HTTPBadRequest(text="the cursor is not one this API gave; start again without it")
    return tuple(values)


def page(rows: list, limit: int, present: Callable, key: Callable) -> dict:
    """The list answer for `rows` fetched with limit + 1: a next cursor only when that extra row came."""
    shown = rows[:limit]
    return {"data": [present(row) for row in shown],
            "nextCursor": encode(*key(shown[-1])) if len(rows) > limit else None}
