"""Events built without their aggregate are the events the aggregate's commands record."""

from application.journal import Journal
from domain.cooldown import CustomerCooldown
from domain.customer_events import CustomerEvent
from domain.dispatch import Dispatch


def state(event) -> dict:
    return {k: v for k, v in event.__dict__.items() if k != "timestamp"}


def test_a_recorded_customer_event_is_the_aggregate_s_creation_event():
    [by_aggregate] = CustomerEvent("t1", "evt_1", {"type": "purchase"}).collect_events()
    direct = CustomerEvent.recorded("t1", "evt_1", {"type": "purchase"})

    assert type(direct) is type(by_aggregate) and state(direct) == state(by_aggregate)


def test_a_requested_dispatch_and_its_first_outcome_are_what_its_commands_record():
    dispatch = Dispatch("t1", "evt_1", "tr_1", 3, "webhook")
    dispatch.fail(1, "refused")
    by_aggregate = dispatch.collect_events()

    direct = [Dispatch.requested("t1", "evt_1", "tr_1", 3, "webhook"),
              Dispatch.first_attempt(dispatch.dispatch_id, "refused")]

    assert [type(e) for e in direct] == [type(e) for e in by_aggregate]
    assert [state(e) for e in direct] == [state(e) for e in by_aggregate]
    assert state(Dispatch.first_attempt(dispatch.dispatch_id, None)) == {
        "originator_id": dispatch.id, "originator_version": 2, "attempt": 1}


def test_cooldown_fires_are_what_its_commands_record():
    cooldown = CustomerCooldown("t1", "tr_1", "c1", 1_000, "e1")
    cooldown.fire(2_000, "e2")
    by_aggregate = cooldown.collect_events()

    direct = [CustomerCooldown.fire_after(None, "t1", "tr_1", "c1", 1_000, "e1"),
              CustomerCooldown.fire_after(1, "t1", "tr_1", "c1", 2_000, "e2")]

    assert [type(e) for e in direct] == [type(e) for e in by_aggregate]
    assert [state(e) for e in direct] == [state(e) for e in by_aggregate]


def test_saved_direct_events_replay_into_the_aggregate():
    journal = Journal()
    journal.save(Dispatch.requested("t1", "evt_1", "tr_1", 3, "recommend"),
                 CustomerCooldown.fire_after(None, "t1", "tr_1", "c1", 1_000, "e1"))
    dispatch_id = Dispatch.public_id("t1", "evt_1", "tr_1")
    journal.save(Dispatch.first_attempt(dispatch_id, None),
                 CustomerCooldown.fire_after(1, "t1", "tr_1", "c1", 2_000, "e2"))

    dispatch = journal.repository.get(Dispatch.id_of(dispatch_id))
    cooldown = journal.repository.get(CustomerCooldown.create_id("t1", "tr_1", "c1"))

    assert (dispatch.outcome, dispatch.attempts, dispatch.version, dispatch.trigger_version) == ("delivered", 1, 2, 3)
    assert (cooldown.fired_at_ms, cooldown.event_id, cooldown.version) == (2_000, "e2", 2)
