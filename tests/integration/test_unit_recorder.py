"""Units of work on both databases: the event log, keys, acknowledgements, dispatch records and counts.

PostgreSQL takes the one-round-trip writer for ingest units and refuses only a clashing unit; the
general path (SQLite, and any unit with a trigger change) refuses the whole batch, and the group
commit splits it. Either way nothing of a refused unit is kept.
"""

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError
from sqlalchemy import text

from application.records import DispatchRecord, KeyAnswer, LoggedEvent, StreamAck, TriggerOutcome, UnitOfWork, Unsettled
from domain.cooldown import CustomerCooldown
from domain.dispatch import DispatchState, dispatch_id
from domain.idempotency import KEY_LIFETIME_MS, KeyClaim
from domain.trigger import Trigger
from tests.stores import Stores

T0 = 1_800_000_000_000


@pytest.fixture
async def postgres_stores(fresh_postgres_url):
    """For the one-round-trip writer, which only PostgreSQL has."""
    stores = Stores.open(fresh_postgres_url)
    assert stores.recorder.writer is not None
    yield stores
    await stores.close()


def logged(event_id: str, *outcomes: str, customer: str = "c1", data: dict | None = None) -> LoggedEvent:
    body = {"id": event_id, "customerId": customer, "data": data or {}}
    return LoggedEvent("t1", event_id, customer, "purchase", T0, body,
                       tuple(TriggerOutcome("tr_1", 1, "recommend", o) for o in outcomes))


def ingest_unit(event_id: str, fired_after: int | None = None, fire: bool = False, key: str | None = None) -> UnitOfWork:
    unit = UnitOfWork(logged=[logged(event_id, "fired" if fire else "cooldown")])
    if fire:
        unit.events.append(CustomerCooldown.fire_after(fired_after, "t1", "tr_1", "c1", T0, event_id))
    if key:
        unit.claims.append(KeyClaim("t1", "key", key, "f" * 64, event_id, T0, T0 + 1000))
    return unit


async def record(stores: Stores, units: list[UnitOfWork]) -> list[int]:
    """Refused units, as the group commit learns them: named by PostgreSQL, found one by one otherwise."""
    try:
        return list(await stores.recorder(units))
    except IntegrityError:
        refused = []
        for n, unit in enumerate(units):
            try:
                await stores.recorder([unit])
            except IntegrityError:
                refused.append(n)
        return refused


def logged_ids(stores: Stores) -> list[str]:
    return [e.event.event_id for e in stores.event_log.tail(0, 1000)]


async def test_a_batch_is_recorded_in_order_with_its_counts_and_read_back(stores):
    refused = await record(stores, [ingest_unit("evt_1", fire=True), ingest_unit("evt_2"), ingest_unit("evt_3")])

    assert refused == []
    assert logged_ids(stores) == ["evt_1", "evt_2", "evt_3"]  # positions in the order of the batch
    entry = stores.event_log.find("t1", "evt_1")
    assert entry.event == logged("evt_1", "fired") and entry.stream_sequence is None
    assert stores.event_log.find("t2", "evt_1") is None  # another tenant's look-up finds nothing
    cooldown = stores.database.journal.repository.get(CustomerCooldown.create_id("t1", "tr_1", "c1"))
    assert cooldown.event_id == "evt_1"
    stats = stores.dispatch_log.stats("t1", ["tr_1"])["tr_1"]
    assert (stats.fired, stats.cooldown, stats.last_fired_at_ms) == (1, 2, T0)


async def test_a_clash_with_the_store_refuses_only_its_unit_and_nothing_of_it_is_kept(stores):
    await record(stores, [ingest_unit("evt_1", fire=True)])

    refused = await record(stores, [ingest_unit("evt_2"), ingest_unit("evt_3", fire=True), ingest_unit("evt_4")])

    assert refused == [1]
    assert logged_ids(stores) == ["evt_1", "evt_2", "evt_4"]
    assert stores.dispatch_log.stats("t1", ["tr_1"])["tr_1"].fired == 1


async def test_two_units_of_one_batch_recording_the_same_version_keep_the_first(stores):
    refused = await record(stores, [ingest_unit("evt_a", fire=True), ingest_unit("evt_b", fire=True)])

    assert refused == [1] and logged_ids(stores) == ["evt_a"]


async def test_a_live_key_refuses_its_unit_and_an_expired_one_gives_way(stores):
    await record(stores, [ingest_unit("evt_1", key="k1")])
    expired = UnitOfWork(logged=[logged("evt_old")],
                         claims=[KeyClaim("t1", "key", "k2", "0" * 64, "evt_old", T0 - KEY_LIFETIME_MS - 1, T0)])
    await record(stores, [expired])

    refused = await record(stores, [ingest_unit("evt_2", key="k1"), ingest_unit("evt_3", key="k2"),
                                    ingest_unit("evt_4", key="k3"), ingest_unit("evt_5", key="k3")])

    assert refused == [0, 3]  # k1 is live; k3 is taken by the batch's own earlier unit
    assert stores.idempotency.find("t1", "key", "k1").claim.event_id == "evt_1"
    assert stores.idempotency.find("t1", "key", "k2").claim.event_id == "evt_3"
    assert stores.idempotency.find("t1", "message", "k1") is None  # message ids are a scope of their own


def first_record(event_id: str, status: str, **state) -> DispatchRecord:
    return DispatchRecord(dispatch_id(event_id, "tr_1"), "t1", "tr_1", 1, event_id, "c1", "recommend",
                          "tripcord.actions.t1.recommend", DispatchState(status, **state),
                          ({"atMs": T0, "durationMs": 3, "outcome": "delivered"},), T0)


async def test_outcomes_record_the_ack_the_dispatch_its_count_and_the_answer(stores):
    await record(stores, [ingest_unit("evt_1", fire=True, key="k1")])

    await record(stores, [UnitOfWork(acks=[StreamAck("evt_1", 41)], answers=[KeyAnswer("t1", "key", "k1", {"a": 1})],
                                     dispatches=[first_record("evt_1", "delivered", delivered_at_ms=T0)])])

    assert stores.event_log.find("t1", "evt_1").stream_sequence == 41
    assert stores.idempotency.find("t1", "key", "k1").response == {"a": 1}
    assert stores.dispatch_log.get("t1", dispatch_id("evt_1", "tr_1")) == first_record("evt_1", "delivered",
                                                                                        delivered_at_ms=T0)
    assert stores.dispatch_log.stats("t1", ["tr_1"])["tr_1"].delivered == 1


async def test_a_first_outcome_replaces_a_recovered_record_unless_a_relay_took_it(stores):
    await record(stores, [ingest_unit("evt_1", fire=True), ingest_unit("evt_2")])
    stores.dispatch_log.recover([first_record("evt_1", "pending", next_attempt_at_ms=T0)])
    stores.dispatch_log.recover([first_record("evt_2", "pending", next_attempt_at_ms=T0)])
    [taken] = stores.dispatch_log.claim_due(T0 + 1, 60_000, 1)

    await record(stores, [UnitOfWork(dispatches=[first_record("evt_1", "delivered", delivered_at_ms=T0),
                                                 first_record("evt_2", "delivered", delivered_at_ms=T0)])])

    statuses = stores.dispatch_log.statuses([dispatch_id("evt_1", "tr_1"), dispatch_id("evt_2", "tr_1")])
    assert statuses == {dispatch_id("evt_1", "tr_1"): "delivered" if taken.event_id == "evt_2" else "pending",
                        dispatch_id("evt_2", "tr_1"): "delivered" if taken.event_id == "evt_1" else "pending"}
    assert stores.dispatch_log.stats("t1", ["tr_1"])["tr_1"].delivered == 1


async def test_customer_data_holding_a_nul_escape_is_stored_and_read_back(stores):
    unit = UnitOfWork(logged=[logged("evt_nul", data={"note": "a\u0000b", "emoji": "🚀"})])

    assert await record(stores, [unit]) == []
    assert stores.event_log.find("t1", "evt_nul").event.body["data"] == {"note": "a\u0000b", "emoji": "🚀"}


async def test_a_failed_batch_reports_no_data_from_its_documents(postgres_stores):
    stores = postgres_stores
    secret_data = {"card": "4111-1111-1111-1111"}
    broken = UnitOfWork(logged=[LoggedEvent("t1", "evt_x", "c1", "purchase", T0, {"data": secret_data}, ())],
                        acks=[StreamAck("evt_x", -1)], answers=[KeyAnswer("t1", "key", "k", {"x": 1})])
    broken.logged.append(broken.logged[0])  # the same event id twice: a unique violation

    with pytest.raises(IntegrityError) as failed:
        await stores.recorder([broken])

    assert "duplicate key" in str(failed.value) and "4111" not in str(failed.value)
    assert await record(stores, [ingest_unit("evt_after")]) == []  # on a new connection: the failed one is gone
    assert logged_ids(stores) == ["evt_after"]


async def test_a_batch_with_a_trigger_change_commits_through_the_session_all_or_nothing(stores):
    trigger = Trigger.create("t1", "tr_9", {"name": "j", "event_type": "purchase", "action_type": "enroll_journey",
                                            "action_config": {"journeyId": "jr_1"}}, "alice")
    created = list(trigger.collect_events())
    await record(stores, [ingest_unit("evt_1", fire=True)])

    with pytest.raises(IntegrityError):  # the session cannot tell which unit clashed
        await stores.recorder([UnitOfWork(created), ingest_unit("evt_2", fire=True)])
    assert stores.listing.listing_page("t1", None, None, 10, 0) == ([], 0)

    await stores.recorder([UnitOfWork(created), ingest_unit("evt_3")])
    assert stores.listing.listing_page("t1", None, None, 10, 0)[1] == 1
    assert logged_ids(stores) == ["evt_1", "evt_3"]


async def test_a_database_error_is_an_operational_error_on_postgres(postgres_stores):
    stores = postgres_stores
    await stores.recorder.writer.close()
    stores.recorder.writer.connect_args["dbname"] = "no_such_database"

    with pytest.raises(OperationalError):
        await stores.recorder([ingest_unit("evt_1")])


async def test_the_relay_is_shown_only_what_may_be_unsettled_and_how_far_it_looked(stores):
    def fired(event_id: str, *triggers: str) -> LoggedEvent:
        return LoggedEvent("t1", event_id, "c1", "purchase", T0, {"id": event_id},
                           tuple(TriggerOutcome(t, 1, "recommend", "fired") for t in triggers))

    def record_of(event_id: str, trigger_id: str) -> DispatchRecord:
        return DispatchRecord(dispatch_id(event_id, trigger_id), "t1", trigger_id, 1, event_id, "c1", "recommend",
                              "s", DispatchState("delivered"), (), T0)

    events = [fired("evt_1", "tr_1"),  # not streamed
              logged("evt_2", "cooldown"),  # streamed, nothing fired: settled
              fired("evt_3", "tr_1"),  # streamed, its one fire recorded: settled
              fired("evt_4", "tr_1", "tr_2"),  # streamed, one of its two fires recorded
              logged("evt_5")]  # streamed: settled, and the last looked at
    await stores.recorder([UnitOfWork(logged=events)])
    await stores.recorder([UnitOfWork(acks=[StreamAck(e.event_id, n) for n, e in enumerate(events[1:], 2)],
                                      dispatches=[record_of("evt_3", "tr_1"), record_of("evt_4", "tr_2"),
                                                  record_of("evt_40", "tr_1")])])  # a neighbour's key range
    positions = {e.event.event_id: e.position for e in stores.event_log.tail(0, 10)}

    stretch = stores.event_log.unsettled(0, 10)

    assert [(e.event.event_id, e.event.body, e.stream_sequence) for e in stretch.entries] == [
        ("evt_1", None, None), ("evt_4", None, 4)]
    assert stretch.entries[1].event.outcomes == events[3].outcomes
    assert (stretch.through, stretch.looked_at) == (positions["evt_5"], 5)
    assert stores.event_log.unsettled(positions["evt_1"], 2).through == positions["evt_3"]
    last = positions["evt_5"]
    assert stores.event_log.unsettled(last, 10) == Unsettled([], last, last, 0)
    assert stores.event_log.bodies(["evt_1", "evt_9"]) == {"evt_1": {"id": "evt_1"}}


async def test_the_relay_checkpoint_starts_at_0_only_moves_forward_and_bounds_the_stretch_and_backlog(stores):
    assert stores.event_log.backlog(T0) == (0, 0)
    await stores.recorder([UnitOfWork(logged=[logged(f"evt_{n}") for n in range(1, 4)])])
    first, second, third = [e.position for e in stores.event_log.tail(0, 10)]
    waiting_all, from_start = stores.event_log.backlog(T0 + 250), stores.event_log.unsettled(0, 10)

    stores.event_log.advance(second)
    stores.event_log.advance(first)  # another process's relay, behind this one

    assert waiting_all == (3, 250) and (from_start.after, from_start.looked_at) == (0, 3)
    assert stores.event_log.backlog(T0 + 250) == (1, 250)
    stretch = stores.event_log.unsettled(0, 10)  # from the checkpoint as stored
    assert (stretch.after, stretch.through, stretch.looked_at) == (second, third, 1)
    assert stores.event_log.unsettled(third, 10).looked_at == 0  # a later position asked for wins


async def test_postgresql_statements_of_ours_are_planned_for_their_values_never_prepared(postgres_stores):
    with postgres_stores.database.reading() as connection:
        for _ in range(12):  # psycopg would prepare after 5, and PostgreSQL then may plan generically
            connection.execute(text("SELECT position FROM tripcord_event_log WHERE position > :p LIMIT 5"), {"p": 0})
        prepared = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
    assert prepared == 0


async def test_postgresql_connections_of_ours_compile_no_plan_just_in_time(postgres_stores):
    with postgres_stores.database.reading() as connection:
        assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
    await postgres_stores.recorder([ingest_unit("evt_1")])  # opens the writer's own connection
    cursor = await postgres_stores.recorder.writer._connection.execute("SHOW jit")
    assert (await cursor.fetchone())[0] == "off"
