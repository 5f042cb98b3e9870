"""The rules behind ingestion: type mappings, the trigger index, cooldowns, webhook signing and egress."""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from application.cooldowns import Cooldowns
from application.trigger_index import TriggerIndex
from domain.cooldown import CustomerCooldown
from domain.customer_events import INGEST_TYPES, trigger_event_types
from domain.dispatch import dispatch_id, fire_of
from application.ports import WebhookRefused
from infrastructure.webhooks import PublicOnlyResolver, is_public, signature
from tests.unit.fakes import PlainTemplates

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


# -- event types --------------------------------------------------------------------------

@pytest.mark.parametrize("ingest_type, expected", [
    ("purchase", ("purchase", "outcome.recorded")),
    ("cart_abandon", ("cart_abandon", "customer.updated")),
    ("support_call", ("support_call", "customer.updated")),
    ("page_view", ("page_view",)),
    ("app_open", ("app_open",)),
])
def test_each_ingest_type_is_evaluated_against_its_own_type_then_its_internal_types(ingest_type, expected):
    assert trigger_event_types(ingest_type) == expected


def test_the_five_ingest_types_are_the_seed_s():
    assert set(INGEST_TYPES) == {"purchase", "cart_abandon", "page_view", "app_open", "support_call"}


# -- the trigger index ----------------------------------------------------------------------

def row(trigger_id, event_type="purchase", priority=50, age_s=0, status="active", deleted=False,
        position=1, tenant="t1", **extra):
    return {"tenant_id": tenant, "trigger_id": trigger_id, "name": trigger_id, "version": 1,
            "event_type": event_type, "action_type": "recommend", "action_config": {"decisionFlowId": "df"},
            "condition": None, "priority": priority, "cooldown_ms": 0, "status": status,
            "deleted": deleted, "created_at": T0 + timedelta(seconds=age_s), "position": position, **extra}


def ids(found) -> list[str]:
    return [t.trigger_id for t in found]


def test_candidates_merge_the_own_and_internal_types_by_priority_then_oldest_first():
    index = TriggerIndex(PlainTemplates())
    index.apply([
        row("own_low", "purchase", priority=10, age_s=0, position=1),
        row("outcome_high", "outcome.recorded", priority=90, age_s=5, position=2),
        row("own_mid_new", "purchase", priority=50, age_s=9, position=3),
        row("outcome_mid_old", "outcome.recorded", priority=50, age_s=1, position=4),
        row("other_type", "page_view", priority=99, position=5),
        row("other_tenant", "purchase", priority=99, tenant="t2", position=6),
    ], 6)

    found = index.candidates("t1", trigger_event_types("purchase"))

    assert ids(found) == ["outcome_high", "outcome_mid_old", "own_mid_new", "own_low"]
    assert ids(index.candidates("t1", ("page_view",))) == ["other_type"]
    assert index.candidates("t3", trigger_event_types("purchase")) == ()


def test_paused_and_deleted_triggers_are_not_candidates_and_reactivation_brings_one_back():
    index = TriggerIndex(PlainTemplates())
    index.apply([row("a", position=1), row("b", position=2), row("c", position=3)], 3)
    assert ids(index.candidates("t1", ("purchase",))) == ["a", "b", "c"]

    index.apply([row("a", status="paused", position=4), row("b", deleted=True, position=5)], 5)
    assert ids(index.candidates("t1", ("purchase", "outcome.recorded"))) == ["c"]

    index.apply([row("a", status="active", position=6)], 6)
    assert ids(index.candidates("t1", ("purchase", "outcome.recorded"))) == ["a", "c"]
    assert len(index) == 2


def test_paused_triggers_are_matched_apart_and_move_between_the_layers_as_their_status_changes():
    index = TriggerIndex(PlainTemplates())
    index.apply([row("a", position=1), row("b", status="paused", priority=90, position=2),
                 row("c", status="paused", position=3, condition={"field": "amount", "operator": "greater_than",
                                                                  "value": 100}),
                 row("d", status="paused", tenant="t2", position=4)], 4)

    assert ids(index.matching("t1", ("purchase",), {"amount": 5}, {})) == ["a"]
    assert ids(index.matching("t1", ("purchase",), {"amount": 5}, {}, paused=True)) == ["b"]
    assert ids(index.matching("t1", ("purchase",), {"amount": 500}, {}, paused=True)) == ["b", "c"]
    assert ids(index.candidates("t1", ("purchase",))) == ["a"] and len(index) == 1

    index.apply([row("b", position=5), row("a", status="paused", position=6), row("c", deleted=True, position=7)], 7)

    assert ids(index.matching("t1", ("purchase",), {"amount": 500}, {})) == ["b"]
    assert ids(index.matching("t1", ("purchase",), {"amount": 500}, {}, paused=True)) == ["a"]
    assert index.matching("t3", ("purchase",), {}, {}, paused=True) == []
    assert ids(index.matching("t2", ("purchase",), {}, {}, paused=True)) == ["d"] and len(index) == 1

    index.apply([row("d", tenant="t2", position=8)], 8)  # t2's last paused trigger is active again

    assert index.matching("t2", ("purchase",), {}, {}, paused=True) == []
    assert ids(index.matching("t2", ("purchase",), {}, {})) == ["d"] and len(index) == 2


def test_an_older_row_never_replaces_a_newer_state_of_the_same_trigger():
    index = TriggerIndex(PlainTemplates())
    index.apply([row("a", status="paused", position=7)], 7)

    index.apply([row("a", status="active", position=3)], 7)

    assert index.candidates("t1", ("purchase",)) == ()


def test_a_trigger_moved_to_another_event_type_leaves_its_old_type():
    index = TriggerIndex(PlainTemplates())
    index.apply([row("a", "purchase", position=1)], 1)

    index.apply([row("a", "customer.updated", position=2)], 2)

    assert index.candidates("t1", trigger_event_types("purchase")) == ()
    assert ids(index.candidates("t1", trigger_event_types("support_call"))) == ["a"]


# -- cooldowns ------------------------------------------------------------------------------

class OldStyle:
    """try_fire as ingestion uses the cache: the fire's event when the window is open, else None."""

    def __init__(self, cooldowns: Cooldowns):
        self.cooldowns = cooldowns

    def try_fire(self, tenant, trigger, customer, cooldown_ms, now_ms, event_id):
        key = (tenant, trigger, customer)
        if not self.cooldowns.window_open(key, cooldown_ms, now_ms):
            return None
        return self.cooldowns.fire(key, now_ms, event_id)


def test_a_first_fire_opens_a_window_that_a_second_call_sees_before_anything_is_saved():
    cooldowns = OldStyle(Cooldowns())

    first = cooldowns.try_fire("t1", "tr_1", "c1", 1000, now_ms=10_000, event_id="evt_1")
    second = cooldowns.try_fire("t1", "tr_1", "c1", 1000, now_ms=10_001, event_id="evt_2")

    assert isinstance(first, CustomerCooldown.Started)
    assert (first.event_id, first.fired_at_ms, first.originator_version) == ("evt_1", 10_000, 1)
    assert first.originator_id == CustomerCooldown.create_id("t1", "tr_1", "c1")
    assert second is None


def test_the_window_reopens_once_the_cooldown_has_passed():
    cooldowns = OldStyle(Cooldowns())
    first = cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_000, "evt_1")

    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_999, "evt_2") is None
    again = cooldowns.try_fire("t1", "tr_1", "c1", 1000, 11_000, "evt_3")

    assert isinstance(again, CustomerCooldown.Fired) and again.originator_id == first.originator_id
    assert (again.event_id, again.fired_at_ms, again.originator_version) == ("evt_3", 11_000, 2)


def test_windows_are_per_customer_and_per_trigger():
    cooldowns = OldStyle(Cooldowns())
    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_000, "e1") is not None

    assert cooldowns.try_fire("t1", "tr_1", "c2", 1000, 10_000, "e2") is not None
    assert cooldowns.try_fire("t1", "tr_2", "c1", 1000, 10_000, "e3") is not None
    assert cooldowns.try_fire("t2", "tr_1", "c1", 1000, 10_000, "e4") is not None


def test_a_forgotten_reservation_no_longer_blocks_and_a_learned_one_does():
    cooldowns = OldStyle(Cooldowns())
    key = ("t1", "tr_1", "c1")
    cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_000, "e1")

    cooldowns.cooldowns.forget(key)
    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_001, "e2") is not None

    stored = CustomerCooldown("t1", "tr_1", "c1", 20_000, "stored")
    stored.fire(20_100, "stored again")
    cooldowns.cooldowns.learn(key, stored.collect_events()[-Cooldowns.DEPTH:])
    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 21_000, "e3") is None
    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 21_100, "e4").originator_version == 3


def test_the_cache_is_bounded():
    cooldowns = OldStyle(Cooldowns(capacity=2))
    for customer in ("c1", "c2", "c3"):
        cooldowns.try_fire("t1", "tr_1", customer, 1000, 10_000, customer)

    # c1 was evicted: this process no longer knows of its window (the store still does).
    assert cooldowns.try_fire("t1", "tr_1", "c1", 1000, 10_001, "again") is not None


def test_the_window_is_closed_strictly_inside_the_cooldown():
    cooldowns = OldStyle(Cooldowns())
    cooldowns.try_fire("t1", "tr_1", "c1", 100, 5_000, "e1")

    assert cooldowns.try_fire("t1", "tr_1", "c1", 100, 5_000, "e2") is None
    assert cooldowns.try_fire("t1", "tr_1", "c1", 100, 5_099, "e3") is None
    assert cooldowns.try_fire("t1", "tr_1", "c1", 100, 5_100, "e4") is not None


def test_cooldown_ids_are_deterministic_per_tenant_trigger_and_customer():
    assert CustomerCooldown.create_id("t1", "tr_1", "c1") == CustomerCooldown.create_id("t1", "tr_1", "c1")
    assert CustomerCooldown.create_id("t1", "tr_1", "c1") != CustomerCooldown.create_id("t2", "tr_1", "c1")
    assert CustomerCooldown.create_id("t1", "tr_1", "c1") != CustomerCooldown.create_id("t1", "tr_1", "c2")


# -- Standard Webhooks signatures -----------------------------------------------------------

def reference_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_signature_of_a_whsec_secret_uses_the_base64_decoded_key():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"dispatchId":"dsp_1","amount":49.99}'

    result = signature(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231", body)

    assert result == reference_signature(key, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "1674087231", body)


def test_signature_matches_the_standard_webhooks_published_vector():
    # From the Standard Webhooks specification's reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'

    result = signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body)

    assert result == "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signature_of_a_plain_secret_uses_its_utf8_bytes():
    body = b"{}"

    assert signature("s3cret", "dsp_1", "1700000000", body) == reference_signature(
        b"s3cret", "dsp_1", "1700000000", body)


# -- webhook egress -------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.1", "127.8.9.10", "0.0.0.0", "169.254.169.254",
    "100.64.0.1", "::1", "::", "fe80::1", "fe80::1%eth0", "fd00::1", "fc00::abcd",
    "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", "224.0.0.1", "ff02::1",
])
def test_private_loopback_link_local_ula_and_mapped_addresses_are_not_public(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_public(address):
    assert is_public(address)


async def test_the_resolver_refuses_a_name_that_points_inward():
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(WebhookRefused):
            await resolver.resolve("localhost", 80)
    finally:
        await resolver.close()


def test_a_dispatch_id_joins_its_event_and_its_trigger():
    dispatch = dispatch_id("evt_1a2b", "tr_9f")

    assert dispatch == "dsp_1a2b_9f" and fire_of(dispatch) == ("evt_1a2b", "tr_9f")
    assert fire_of("dsp_nope") is None and fire_of("evt_1_2") is None and fire_of("dsp__9f") is None


def test_triggers_with_equal_conditions_share_one_evaluation_per_event():
    index = TriggerIndex(PlainTemplates())
    condition = {"field": "amount", "operator": "greater_than", "value": 10}
    index.apply([row("a", "purchase", condition=condition, position=1),
                 row("b", "purchase", condition=dict(condition), position=2),
                 row("c", "purchase", condition={**condition, "value": 10.0}, position=3)], 3)
    a, b, c = index.candidates("t1", ("purchase",))

    assert a.condition is b.condition and c.condition is not a.condition  # 10.0 is other JSON than 10
    assert ids(index.matching("t1", ("purchase",), {"amount": 11}, {})) == ["a", "b", "c"]
    assert ids(index.matching("t1", ("purchase",), {"amount": 5}, {})) == []


def test_a_shared_condition_is_released_with_its_last_trigger():
    index = TriggerIndex(PlainTemplates())
    index.apply([row("a", "purchase", condition={"field": "x", "operator": "exists"}, position=1)], 1)
    index.apply([row("a", "purchase", condition={"field": "x", "operator": "exists"}, position=2,
                     deleted=True)], 2)

    assert len(index._conditions) == 0
