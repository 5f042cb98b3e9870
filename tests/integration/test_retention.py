"""What grows is bounded: keys expire after a day, and the event log may keep only its retention."""


from application.records import DispatchRecord, LoggedEvent, StreamAck, TriggerOutcome, UnitOfWork
from domain.dispatch import DispatchState, dispatch_id
from domain.idempotency import KEY_LIFETIME_MS, KeyClaim

DAY = 86_400_000
NOW = 1_900_000_000_000


def event(event_id: str, received_ms: int) -> LoggedEvent:
    return LoggedEvent("t1", event_id, "c1", "purchase", received_ms, {"id": event_id},
                       (TriggerOutcome("tr_1", 1, "recommend", "fired"),))


def record(event_id: str, status: str, received_ms: int) -> DispatchRecord:
    return DispatchRecord(dispatch_id(event_id, "tr_1"), "t1", "tr_1", 1, event_id, "c1", "recommend", "s",
                          DispatchState(status, received_ms if status == "retrying" else None), (), received_ms)


async def test_idempotency_keys_are_purged_after_their_day(stores):
    def claim(key: str, at_ms: int) -> UnitOfWork:
        return UnitOfWork(claims=[KeyClaim("t1", "key", key, "f" * 64, f"evt_{key}", at_ms, at_ms)])
    await stores.recorder([claim("old", NOW - KEY_LIFETIME_MS - 1), claim("new", NOW - 1000)])

    purged = stores.idempotency.purge(NOW - KEY_LIFETIME_MS)

    assert purged == 1
    assert stores.idempotency.find("t1", "key", "old") is None and stores.idempotency.find("t1", "key", "new")


async def test_the_retention_purge_keeps_what_is_young_unsettled_or_past_the_relay(stores):
    old, young = NOW - 10 * DAY, NOW - DAY
    events = [event("evt_a", old), event("evt_b", old), event("evt_c", young), event("evt_d", old)]
    await stores.recorder([UnitOfWork(logged=events)])
    await stores.recorder([UnitOfWork(acks=[StreamAck(e.event_id, n) for n, e in enumerate(events[:3], 1)],
                                      dispatches=[record("evt_a", "delivered", old), record("evt_b", "retrying", old),
                                                  record("evt_c", "dead", young)])])
    stores.event_log.advance(3)  # the relay has seen a, b and c settled; not d

    purged = stores.event_log.purge(NOW - 7 * DAY, 100)

    assert purged == 1
    assert [e.event.event_id for e in stores.event_log.tail(0, 10)] == ["evt_b", "evt_c", "evt_d"]
    assert stores.dispatch_log.statuses([dispatch_id(e, "tr_1") for e in ("evt_a", "evt_b", "evt_c")]) == {
        dispatch_id("evt_b", "tr_1"): "retrying", dispatch_id("evt_c", "tr_1"): "dead"}
    assert stores.dispatch_log.stats("t1", ["tr_1"])["tr_1"].fired == 4  # counts outlive the facts they count
