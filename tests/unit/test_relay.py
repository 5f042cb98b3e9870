"""The relay with in-memory fakes: outcomes are recorded even when another writer clashes."""

from eventsourcing.persistence import IntegrityError

from application.delivery import Deliveries
from application.journal import Journal
from application.ports import OutboxMessage
from application.relay import Relay, RelayPolicy
from domain.dispatch import Dispatch


class Outbox:
    def __init__(self, *messages):
        self.messages = list(messages)
        self.rescheduled = []

    def claim_due(self, now_ms, lease_ms, limit):
        claimed, self.messages = self.messages, []
        return claimed

    def reschedule(self, message_id, due_at_ms, attempts):
        self.rescheduled.append((message_id, attempts))


class Stream:
    def __init__(self, fail=False):
        self.fail = fail
        self.published = []

    async def publish(self, subject, message_id, body):
        if self.fail:
            raise ConnectionError("stream down")
        self.published.append(message_id)
        return len(self.published)


class Observer:
    def __getattr__(self, name):
        return lambda *args: None


async def blocking(fn, *args):
    return fn(*args)


def relay_for(journal, outbox, stream, commit, max_attempts=3):
    return Relay(journal, outbox, Deliveries(stream, webhooks=None), commit, blocking, Observer(),
                 RelayPolicy(max_attempts=max_attempts, base_ms=10, max_ms=100))


def saved_dispatch(journal) -> tuple[Dispatch, OutboxMessage]:
    dispatch = Dispatch("t1", "evt_1", "tr_1", 1, "recommend")
    journal.save(dispatch)
    message = OutboxMessage(Dispatch.public_id("t1", "evt_1", "tr_1"), "action", "t1",
                            "tripcord.actions.t1.recommend", {"dispatchId": "x"}, 0, attempts=2)
    return dispatch, message


async def test_an_outcome_that_clashes_is_applied_again_on_the_newer_dispatch():
    journal = Journal()
    dispatch, message = saved_dispatch(journal)
    settled = []

    async def commit(unit):
        if not settled:  # another writer records an attempt first
            rival = journal.repository.get(dispatch.id)
            rival.fail(1, "earlier attempt")
            journal.save(rival)
            settled.append("clash")
            raise IntegrityError("version clash")
        journal.save(*unit.events)
        settled.extend(unit.outbox_done)

    await relay_for(journal, Outbox(message), Stream(), commit).run_once()

    history = [type(e).__name__ for e in journal.events.get(dispatch.id)]
    assert history == ["Requested", "AttemptFailed", "Delivered"]
    assert settled == ["clash", message.id]


async def test_a_dispatch_is_declared_dead_after_its_last_attempt():
    journal = Journal()
    dispatch, message = saved_dispatch(journal)
    last = OutboxMessage(message.id, message.kind, message.tenant_id, message.subject, message.body, 0,
                         attempts=3)
    settled = []

    async def commit(unit):
        journal.save(*unit.events)
        settled.extend(unit.outbox_done)

    await relay_for(journal, Outbox(last), Stream(fail=True), commit, max_attempts=3).run_once()

    assert journal.repository.get(dispatch.id).outcome == "dead"
    assert settled == [message.id]


async def test_a_stream_event_that_fails_is_rescheduled_never_given_up():
    event = OutboxMessage("evt_1", "event", "t1", "tripcord.events.t1.purchase", {"id": "evt_1"}, 0, attempts=99)
    outbox = Outbox(event)

    async def commit(unit):
        raise AssertionError("nothing to record")

    await relay_for(Journal(), outbox, Stream(fail=True), commit, max_attempts=3).run_once()

    assert outbox.rescheduled == [("evt_1", 99)]
