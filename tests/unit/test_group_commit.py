"""Group commit: concurrent units share transactions; a clash fails only the units that clash."""

import asyncio
from eventsourcing.persistence import IntegrityError

from application.records import StreamAck, UnitOfWork
from infrastructure.group_commit import GroupCommit


class Store:
    """Records units as a transaction would: all or none, refusing any unit marked as clashing."""

    def __init__(self):
        self.transactions: list[list[str]] = []

    async def record(self, units):
        await asyncio.sleep(0)  # a round trip: units that arrive meanwhile queue for the next batch
        names = [u.acks[0].event_id for u in units]
        if any(name.startswith("clash") for name in names):
            raise IntegrityError("version clash")
        self.transactions.append(names)


def unit(name: str, events=()) -> UnitOfWork:
    return UnitOfWork(events=list(events), acks=[StreamAck(name, 1)])


async def test_units_waiting_together_share_one_transaction():
    store = Store()
    commit = GroupCommit(store.record, max_batch=100)

    await asyncio.gather(*(commit(unit(f"u{n}")) for n in range(10)))

    assert sorted(sum(store.transactions, [])) == sorted(f"u{n}" for n in range(10))
    assert len(store.transactions) <= 2  # the first alone, the rest queued behind it


async def test_a_clash_fails_its_own_unit_and_every_other_unit_commits():
    store = Store()
    commit = GroupCommit(store.record, max_batch=100)
    names = [f"u{n}" for n in range(15)] + ["clash-a", "clash-b"]

    results = await asyncio.gather(*(commit(unit(n)) for n in names), return_exceptions=True)

    failed = {n for n, r in zip(names, results) if isinstance(r, IntegrityError)}
    assert failed == {"clash-a", "clash-b"}
    assert sorted(sum(store.transactions, [])) == sorted(names[:15])
    assert len(store.transactions) < 15  # halving, not one transaction per unit


async def test_the_batch_size_is_bounded():
    store = Store()
    commit = GroupCommit(store.record, max_batch=4)

    await asyncio.gather(*(commit(unit(f"u{n}")) for n in range(20)))

    assert max(len(t) for t in store.transactions) <= 4


class NamingStore:
    """A store that commits the rest of the batch and names the units that clash."""

    def __init__(self):
        self.transactions: list[list[str]] = []

    async def record(self, units):
        await asyncio.sleep(0)
        names = [u.acks[0].event_id for u in units]
        self.transactions.append([n for n in names if not n.startswith("clash")])
        return [i for i, n in enumerate(names) if n.startswith("clash")]


async def test_a_store_that_names_the_clashes_costs_no_extra_transaction():
    store = NamingStore()
    commit = GroupCommit(store.record, max_batch=100)
    first = asyncio.ensure_future(commit(unit("first")))
    await asyncio.sleep(0)  # the first goes alone; the rest queue behind it
    names = [f"u{n}" for n in range(8)] + ["clash-a"]

    results = await asyncio.gather(*(commit(unit(n)) for n in names), return_exceptions=True)
    await first

    assert {n for n, r in zip(names, results) if isinstance(r, IntegrityError)} == {"clash-a"}
    assert store.transactions == [["first"], names[:8]]


async def test_units_queued_without_waiting_are_committed_and_a_failure_raises_nowhere():
    store = Store()
    commit = GroupCommit(store.record, max_batch=100)

    for name in ("later-1", "clash-later", "later-2"):
        commit.later(unit(name))
    await commit(unit("waited"))
    await commit.drain()

    assert sorted(sum(store.transactions, [])) == ["later-1", "later-2", "waited"]
