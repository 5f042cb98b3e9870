"""The orjson transcoder writes the documents eventsourcing's JSONTranscoder writes, which reads them back."""

from datetime import datetime, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder

from application.journal import Journal
from domain.cooldown import CustomerCooldown
from domain.frequency_caps import CustomerAllowance
from domain.trigger import Trigger
from infrastructure.sql.event_recorder import OrjsonTranscoder

MESSAGE = {"id": "evt_1", "data": {"amount": 1234.5, "tiny": 1e-7, "big": 2**53 - 1, "name": "Zoë 🚀",
                                   "nested": {"list": [1, None, True, "x"]}, "empty": {}}}


@pytest.fixture
def transcoders():
    journal = Journal()
    standard, fast = JSONTranscoder(), OrjsonTranscoder()
    journal.register_transcodings(standard)
    journal.register_transcodings(fast)
    return standard, fast


def states() -> list[dict]:
    trigger = Trigger.create("t1", "tr_1", {"name": "n", "event_type": "purchase", "action_type": "webhook",
                                            "action_config": {"url": "https://example.com/h", "secret": "s" * 24},
                                            "condition": {"field": "amount", "operator": "greater_than", "value": 1.5}}, "me")
    trigger.change({"priority": 7}, "me")
    trigger.change({"description": "ünicode 🚀", "action_config": {"url": "https://example.com/h",
                    "body": MESSAGE}}, "me")
    events = [*trigger.collect_events(), CustomerAllowance.spend_after(3, "t1", "Zoë", "cap", 1_000, 5),
              CustomerCooldown.fire_after(None, "t1", "tr_1", "c1", 1_000, "evt_1")]
    return [{k: v for k, v in e.__dict__.items() if k not in ("originator_id", "originator_version")}
            for e in events]


def test_every_event_state_reads_back_the_same_through_either(transcoders):
    standard, fast = transcoders
    for state in states():
        assert standard.decode(fast.encode(state)) == standard.decode(standard.encode(state))
        assert fast.decode(fast.encode(state)) == state


def test_only_a_float_s_spelling_may_differ(transcoders):
    standard, fast = transcoders
    assert (fast.encode({"x": 1e-7}), standard.encode({"x": 1e-7})) == (b'{"x":1e-7}', b'{"x":1e-07}')
    created = states()[0]
    assert fast.encode(created) == standard.encode(created)


def test_values_with_transcodings_keep_their_standard_form(transcoders):
    standard, fast = transcoders
    state = {"at": datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc), "amount": Decimal("1.10"),
             "nested": {"at": datetime(2026, 1, 1, tzinfo=timezone.utc)}}

    assert fast.encode(state) == standard.encode(state)
    assert fast.decode(fast.encode(state)) == state


def test_a_uuid_attribute_comes_back_a_uuid(transcoders):
    standard, fast = transcoders
    state = {"reference": uuid4(), "n": 1}

    assert fast.encode(state) == standard.encode(state)
    assert fast.decode(fast.encode(state)) == state
