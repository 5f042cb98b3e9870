"""Reloading a busy cooldown reads a snapshot and the events since, not its whole history."""

from application.journal import Journal
from domain.cooldown import CustomerCooldown

KEY = ("t1", "tr_1", "c1")


def fired(journal: Journal, times: int, start: int = 0) -> None:
    journal.save(*(CustomerCooldown.fire_after(n or None, *KEY, 1_000 + n, f"evt_{n}") for n in range(start, start + times)))


def test_a_reload_after_many_fires_leaves_a_snapshot_the_next_reload_starts_from():
    journal = Journal(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    cooldown_id = CustomerCooldown.create_id(*KEY)
    fired(journal, 120)

    first = journal.reload(cooldown_id)
    [snapshot] = list(journal.snapshots.get(cooldown_id))
    fired(journal, 10, start=120)
    replayed = []
    original = journal.events.get
    journal.events.get = lambda *args, **kwargs: replayed.extend(original(*args, **kwargs)) or iter(replayed)
    second = journal.reload(cooldown_id)

    assert (first.version, first.event_id, snapshot.originator_version) == (120, "evt_119", 120)
    assert (second.version, second.fired_at_ms, second.event_id) == (130, 1_129, "evt_129")
    assert len(replayed) == 10  # the events after the snapshot, not all 130
    assert len(list(journal.snapshots.get(cooldown_id))) == 1  # too few since for another


def test_a_reload_of_a_short_history_writes_no_snapshot():
    journal = Journal(env={"IS_SNAPSHOTTING_ENABLED": "y"})
    fired(journal, 3)

    assert journal.reload(CustomerCooldown.create_id(*KEY)).version == 3
    assert list(journal.snapshots.get(CustomerCooldown.create_id(*KEY))) == []
