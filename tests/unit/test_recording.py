"""Events built without their aggregate are the events the aggregate's commands record."""

from application.journal import Journal
from domain.cooldown import CustomerCooldown
from domain.frequency_caps import CustomerAllowance


def state(event) -> dict:
    return {k: v for k, v in event.__dict__.items() if k != "timestamp"}


def test_cooldown_fires_are_what_its_commands_record():
    cooldown = CustomerCooldown("t1", "tr_1", "c1", 1_000, "e1")
    cooldown.fire(2_000, "e2")
    by_aggregate = cooldown.collect_events()

    direct = [CustomerCooldown.fire_after(None, "t1", "tr_1", "c1", 1_000, "e1"),
              CustomerCooldown.fire_after(1, "t1", "tr_1", "c1", 2_000, "e2")]

    assert [type(e) for e in direct] == [type(e) for e in by_aggregate]
    assert [state(e) for e in direct] == [state(e) for e in by_aggregate]


def test_allowance_spends_are_what_its_commands_record():
    allowance = CustomerAllowance("t1", "c1", "cap", 1_000, 2)
    allowance.spend(2_000, 2)
    by_aggregate = allowance.collect_events()

    direct = [CustomerAllowance.spend_after(None, "t1", "c1", "cap", 1_000, 2),
              CustomerAllowance.spend_after(1, "t1", "c1", "cap", 2_000, 2)]

    assert [type(e) for e in direct] == [type(e) for e in by_aggregate]
    assert [state(e) for e in direct] == [state(e) for e in by_aggregate]


def test_saved_direct_events_replay_into_the_aggregate():
    journal = Journal()
    journal.save(CustomerCooldown.fire_after(None, "t1", "tr_1", "c1", 1_000, "e1"),
                 CustomerAllowance.spend_after(None, "t1", "c1", "cap", 1_000, 2))
    journal.save(CustomerCooldown.fire_after(1, "t1", "tr_1", "c1", 2_000, "e2"),
                 CustomerAllowance.spend_after(1, "t1", "c1", "cap", 2_000, 2),
                 )
    journal.save(CustomerAllowance.spend_after(2, "t1", "c1", "cap", 3_000, 2))

    cooldown = journal.repository.get(CustomerCooldown.create_id("t1", "tr_1", "c1"))
    allowance = journal.repository.get(CustomerAllowance.create_id("t1", "c1", "cap"))

    assert (cooldown.fired_at_ms, cooldown.event_id, cooldown.version) == (2_000, "e2", 2)
    assert (allowance.recent, allowance.version) == ([2_000, 3_000], 3)  # only the last `limit` are kept
