"""The PostgreSQL write path: one transaction per batch, and a clash refuses only its own unit."""

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from application.ports import OutboxMessage, UnitOfWork
from domain.cooldown import CustomerCooldown
from domain.customer_events import CustomerEvent
from domain.trigger import Trigger
from infrastructure.storage import SqlStorage, open_journal


@pytest.fixture
async def storage(fresh_postgres_url):
    journal = open_journal(fresh_postgres_url)
    storage = SqlStorage(journal)
    yield storage
    await storage.close_async()
    journal.close()


async def inline(fn, *args):
    return fn(*args)


async def record(storage, units):
    return await storage.record_async(units, blocking=inline)


def ingest_unit(event_id: str, fired_after: int | None = None) -> UnitOfWork:
    events = [CustomerEvent.recorded("t1", event_id, {"id": event_id})]
    if fired_after is not None or event_id.startswith("fire"):
        events.append(CustomerCooldown.fire_after(fired_after, "t1", "tr_1", "c1", 1_000, event_id))
    return UnitOfWork(events, outbox_added=[OutboxMessage(event_id, "event", "t1", "s", {"id": event_id}, 0)])


def outbox_ids(storage) -> set[str]:
    return {m.id for m in storage.claim_due(10**15, 1, 1000)}


async def test_a_batch_is_recorded_with_its_outbox_and_read_back_by_the_journal(storage):
    assert storage.writer is not None  # PostgreSQL takes the lean path

    refused = await record(storage, [ingest_unit("e1"), ingest_unit("fire-1")])

    assert refused == []
    assert outbox_ids(storage) == {"e1", "fire-1"}
    recorded = storage.journal.repository.get(CustomerEvent.create_id("t1", "e1"))
    assert recorded.message == {"id": "e1"}
    assert storage.journal.repository.get(CustomerCooldown.create_id("t1", "tr_1", "c1")).event_id == "fire-1"


async def test_a_clash_with_the_store_refuses_only_its_unit_and_nothing_of_it_is_kept(storage):
    await record(storage, [ingest_unit("fire-1")])

    refused = await record(storage, [ingest_unit("e2"), ingest_unit("fire-2", fired_after=None), ingest_unit("e3")])

    assert refused == [1]
    assert outbox_ids(storage) == {"fire-1", "e2", "e3"}
    journal = storage.journal
    assert [e.event_id for e in journal.events.get(CustomerCooldown.create_id("t1", "tr_1", "c1"))] == ["fire-1"]
    with pytest.raises(Exception):  # the refused unit's event was taken back out
        journal.repository.get(CustomerEvent.create_id("t1", "fire-2"))


async def test_two_units_of_one_batch_recording_the_same_version_refuse_the_later(storage):
    refused = await record(storage, [ingest_unit("fire-a"), ingest_unit("fire-b")])

    assert refused == [1]
    assert outbox_ids(storage) == {"fire-a"}


async def test_outbox_removals_of_a_refused_unit_are_not_applied(storage):
    await record(storage, [ingest_unit("fire-1"), ingest_unit("e1")])
    clashing = ingest_unit("fire-2", fired_after=None)
    clashing.outbox_done.append("e1")

    assert await record(storage, [clashing]) == [0]
    assert outbox_ids(storage) == {"fire-1", "e1"}


async def test_customer_data_holding_a_nul_escape_is_stored_and_read_back(storage):
    message = {"id": "e-nul", "customerId": "j\u0000", "data": {"note": "a\u0000b", "emoji": "🚀"}}
    unit = UnitOfWork([CustomerEvent.recorded("t1", "e-nul", message)],
                      outbox_added=[OutboxMessage("e-nul", "event", "t1", "s", message, 0)])

    assert await record(storage, [unit]) == []
    assert storage.journal.repository.get(CustomerEvent.create_id("t1", "e-nul")).message == message
    [claimed] = storage.claim_due(10**15, 1, 10)
    assert claimed.body == message


async def test_a_failed_batch_reports_no_data_from_its_documents(storage):
    secret = "whsec_" + "s" * 32
    webhook = OutboxMessage("dsp_1", "webhook", "t1", "https://hooks.example.com/\u0000", {"id": "e"}, 0,
                            target={"method": "POST", "headers": {}, "secret": secret})

    with pytest.raises(OperationalError) as failed:  # PostgreSQL text cannot hold the NUL of the subject
        await record(storage, [UnitOfWork(outbox_added=[webhook])])

    assert str(failed.value) == "unsupported Unicode escape sequence"  # not its DETAIL or CONTEXT,
    assert "hooks.example.com" in str(failed.value.__context__)        # which quote the document
    assert secret not in str(failed.value)
    assert outbox_ids(storage) == set()
    assert await record(storage, [ingest_unit("e-after")]) == []  # on a new connection: the failed one is gone
    assert outbox_ids(storage) == {"e-after"}


async def test_a_batch_with_a_trigger_change_commits_through_the_session_all_or_nothing(storage):
    trigger = Trigger.create("t1", "tr_9", {"name": "j", "event_type": "purchase", "action_type": "enroll_journey",
                                            "action_config": {"journeyId": "jr_1"}}, "alice")
    created = list(trigger.collect_events())
    await record(storage, [ingest_unit("fire-1")])
    clashing = ingest_unit("fire-2", fired_after=None)
    calls = []

    async def counted(fn, *args):
        calls.append(fn.__name__)
        return fn(*args)

    with pytest.raises(IntegrityError):  # the session cannot tell which unit clashed
        await storage.record_async([UnitOfWork(created), clashing], blocking=counted)
    assert calls == ["record"]
    assert storage.listing_page("t1", None, None, 10, 0) == ([], 0)

    assert await storage.record_async([UnitOfWork(created), ingest_unit("e5")], blocking=counted) == ()
    assert calls == ["record", "record"]
    assert storage.listing_page("t1", None, None, 10, 0)[1] == 1
    assert outbox_ids(storage) == {"fire-1", "e5"}
