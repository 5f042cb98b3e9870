"""The nesting check reads depth from the JSON text; it must agree with a walk of the parsed document,
whatever brackets, quotes and backslashes the strings hold."""

import json

import orjson
from hypothesis import given, settings, strategies as st

from interfaces.request_body import _depth_of

TRICKY = st.text(alphabet='[]{}"\\ab\n\u00e9', max_size=12)
documents = st.recursive(st.none() | st.integers(-(2**63), 2**63 - 1) | TRICKY,
                         lambda children: st.lists(children, max_size=4) | st.dictionaries(TRICKY, children, max_size=4),
                         max_leaves=40)


def walked_depth(value) -> int:
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
    if children is None:
        return 0
    return 1 + max(map(walked_depth, children), default=0)


@settings(max_examples=400, deadline=None)
@given(documents, st.booleans())
def test_depth_from_the_text_is_the_depth_of_the_document(document, spaced):
    raw = json.dumps(document, indent=1).encode() if spaced else orjson.dumps(document)
    assert _depth_of(raw) == walked_depth(document)


def test_escaped_quotes_and_backslashes_do_not_end_a_string_early():
    assert _depth_of(rb'{"a":"\\"}') == 1
    assert _depth_of(rb'{"a":"\\\"[[[[","b":[]}') == 2
    assert _depth_of(rb'[[["]]]]]"]]]') == 3
