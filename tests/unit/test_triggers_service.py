import secrets

import pytest

from application.dry_runs import DryRuns
from application.journal import Journal
from application.trigger_index import TriggerIndex
from application.trigger_listing import project
from application.triggers import TooManyTriggers, TriggerNotFound, Triggers, VersionConflict
from domain.errors import InvalidTrigger
from domain.trigger import Trigger
from tests.unit.fakes import PlainTemplates

HIGH_VALUE = {"name": "High-Value Purchase Trigger", "event_type": "purchase", "action_type": "enroll_journey",
              "action_config": {"journeyId": "journey_001"},
              "condition": {"field": "amount", "operator": "greater_than", "value": 500},
              "priority": 80, "cooldown_ms": 86400000}
WEBHOOK = {"name": "Notify", "event_type": "purchase", "action_type": "webhook",
           "action_config": {"url": "https://hooks.example.com/in", "secret": "plain-secret-of-24-characters"}}


class MemoryStorage:
    """The listing projection kept in a dict, fed by the journal's notification ids."""

    def __init__(self, journal: Journal):
        self.journal, self.rows, self.position = journal, {}, 0

    def record(self, units) -> None:
        for recording in self.journal.save(*[e for unit in units for e in unit.events]):
            event, position = recording.domain_event, recording.notification.id
            if isinstance(event, Trigger.Event):
                self.rows[event.originator_id] = project(self.rows.get(event.originator_id), event, position)
                self.position = max(self.position, position)

    def listing_page(self, tenant_id, status, event_type, limit, offset):
        rows = sorted((r for r in self.rows.values() if r["tenant_id"] == tenant_id and not r["deleted"]
                       and status in (None, r["status"]) and event_type in (None, r["event_type"])),
                      key=lambda r: (-r["priority"], r["created_at"], r["trigger_id"]))
        return rows[offset:offset + limit], len(rows)

    def listing_changes(self, after_position):
        changed = sorted((r for r in self.rows.values() if r["position"] > after_position),
                         key=lambda r: r["position"])
        return changed, self.position

    def listing_position(self) -> int:
        return self.position

    def active_count(self, tenant_id) -> int:
        return self.listing_page(tenant_id, "active", None, 0, 0)[1]


def triggers_on(journal: Journal, max_active: int = 100) -> Triggers:
    storage = MemoryStorage(journal)
    return Triggers(journal, storage, storage.record, TriggerIndex(PlainTemplates()), PlainTemplates(), max_active)


@pytest.fixture
def triggers() -> Triggers:
    return triggers_on(Journal())


@pytest.fixture
def dry_runs(triggers) -> DryRuns:
    return DryRuns(triggers.journal, triggers, PlainTemplates(), lambda tenant_id: ())


@pytest.fixture
def tenant() -> str:
    return "t_" + secrets.token_hex(6)


def event(data: dict, type_: str = "purchase") -> dict:
    return {"type": type_, "customerId": "c-1", "channel": "web", "timestamp": "2026-02-20T10:00:00Z",
            "data": data}


def ids(index: TriggerIndex, tenant: str, *types: str) -> list[str]:
    return [t.trigger_id for t in index.candidates(tenant, types)]


def test_create_returns_the_state_with_defaults(triggers, tenant):
    created = triggers.create(tenant, {"name": "N", "event_type": "page_view", "action_type": "journey_enroll",
                                       "action_config": {"journeyId": "j"}}, "alice")

    assert created["trigger_id"].startswith("tr_") and created["version"] == 1
    assert (created["action_type"], created["priority"], created["cooldown_ms"], created["status"],
            created["description"], created["condition"]) == ("enroll_journey", 50, 0, "active", "", None)
    assert created["created_at"] == created["updated_at"]


def test_create_refuses_an_invalid_trigger_and_records_nothing(triggers, tenant):
    with pytest.raises(InvalidTrigger):
        triggers.create(tenant, {**HIGH_VALUE, "priority": True}, "alice")

    assert triggers.page(tenant, None, None, 50, 0) == ([], 0)


def test_get_returns_the_current_state(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")

    assert triggers.get(tenant, created["trigger_id"]) == created


def test_update_changes_only_the_given_fields(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")

    updated = triggers.update(tenant, created["trigger_id"], {"priority": 90}, "bob")

    assert updated == {**created, "priority": 90, "version": 2, "updated_at": updated["updated_at"]}
    assert updated["updated_at"] > created["updated_at"]
    assert triggers.get(tenant, created["trigger_id"]) == updated


def test_get_version_n_returns_the_past_state(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")
    triggers.update(tenant, created["trigger_id"], {"name": "Renamed"}, "bob")

    assert triggers.get(tenant, created["trigger_id"], version=1) == created
    assert triggers.get(tenant, created["trigger_id"], version=2)["name"] == "Renamed"


def test_get_a_version_that_does_not_exist(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")

    with pytest.raises(TriggerNotFound):
        triggers.get(tenant, created["trigger_id"], version=2)


def test_update_with_the_expected_version(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")

    assert triggers.update(tenant, created["trigger_id"], {"priority": 1}, "bob", expected_version=1)["version"] == 2


def test_update_with_a_stale_version_conflicts(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")
    triggers.update(tenant, created["trigger_id"], {"priority": 1}, "bob")

    with pytest.raises(VersionConflict):
        triggers.update(tenant, created["trigger_id"], {"priority": 2}, "carol", expected_version=1)

    assert triggers.get(tenant, created["trigger_id"])["priority"] == 1


def test_delete_hides_the_trigger_but_keeps_its_history(triggers, tenant):
    created = triggers.create(tenant, HIGH_VALUE, "alice")

    triggers.delete(tenant, created["trigger_id"], "admin")

    with pytest.raises(TriggerNotFound):
        triggers.get(tenant, created["trigger_id"])
    assert [e["change"] for e in triggers.history(tenant, created["trigger_id"])] == ["created", "deleted"]
    assert triggers.page(tenant, None, None, 50, 0) == ([], 0)


@pytest.mark.parametrize("command", [
    lambda s, tenant, id_: s.get(tenant, id_),
    lambda s, tenant, id_: s.update(tenant, id_, {"name": "x"}, "bob"),
    lambda s, tenant, id_: s.delete(tenant, id_, "bob"),
    lambda s, tenant, id_: s.history(tenant, id_),
    lambda s, tenant, id_: DryRuns(s.journal, s, PlainTemplates(), lambda t: ()).test(tenant, id_, event({})),
])
def test_unknown_trigger_is_not_found(triggers, tenant, command):
    with pytest.raises(TriggerNotFound):
        command(triggers, tenant, "tr_missing")


@pytest.mark.parametrize("command", [
    lambda s, tenant, id_: s.update(tenant, id_, {"name": "x"}, "bob"),
    lambda s, tenant, id_: s.delete(tenant, id_, "bob"),
    lambda s, tenant, id_: DryRuns(s.journal, s, PlainTemplates(), lambda t: ()).test(tenant, id_, event({})),
])
def test_deleted_trigger_is_not_found(triggers, tenant, command):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    triggers.delete(tenant, trigger_id, "admin")

    with pytest.raises(TriggerNotFound):
        command(triggers, tenant, trigger_id)


def test_another_tenants_trigger_is_not_found(triggers, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    with pytest.raises(TriggerNotFound):
        triggers.get("other", trigger_id)
    with pytest.raises(TriggerNotFound):
        triggers.history("other", trigger_id)


def test_history_records_every_change_with_its_actor(triggers, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    triggers.update(tenant, trigger_id, {"name": "Renamed", "priority": 80}, "bob")
    triggers.update(tenant, trigger_id, {"status": "paused"}, "carol")
    triggers.update(tenant, trigger_id, {"status": "active"}, "dave")
    triggers.delete(tenant, trigger_id, "erin")

    history = triggers.history(tenant, trigger_id)

    assert [(e["version"], e["change"], e["actor"]) for e in history] == [
        (1, "created", "alice"), (2, "updated", "bob"), (3, "paused", "carol"), (4, "activated", "dave"),
        (5, "deleted", "erin")]
    assert history[0]["fields"] == {**HIGH_VALUE, "description": "", "status": "active", "ignore_frequency_caps": False}
    assert [e["fields"] for e in history[1:]] == [{"name": "Renamed"}, {}, {}, {}]
    assert all(a["at"] < b["at"] for a, b in zip(history, history[1:]))


def test_history_redacts_the_webhook_secret(triggers, tenant):
    trigger_id = triggers.create(tenant, WEBHOOK, "alice")["trigger_id"]
    triggers.update(tenant, trigger_id, {"action_config": {"url": "https://hooks.example.com/v2",
                                                           "secret": "whsec_bmV3LXNlY3JldC1vZi0yNC1ieXRlcyEhIQ=="}},
                    "bob")

    created, updated = triggers.history(tenant, trigger_id)

    assert created["fields"]["action_config"]["secret"] == "********"
    assert updated["fields"]["action_config"] == {"url": "https://hooks.example.com/v2", "secret": "********",
                                                  "method": "POST", "headers": {}}
    assert "whsec_" not in repr(created) + repr(updated)


def test_history_does_not_change_the_recorded_events(triggers, tenant):
    trigger_id = triggers.create(tenant, WEBHOOK, "alice")["trigger_id"]

    triggers.history(tenant, trigger_id)

    assert triggers.get(tenant, trigger_id)["action_config"]["secret"] == "plain-secret-of-24-characters"


def test_dry_run_that_would_fire(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({"amount": 750}))

    assert (result.would_fire, result.reason) == (True, "All conditions matched")
    [leaf] = result.trace
    assert (leaf.path, leaf.field, leaf.actual, leaf.found, leaf.matched) == ("condition", "amount", 750, True, True)


def test_dry_run_that_would_not_fire_explains_why(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({"amount": 12}))

    assert not result.would_fire and result.reason == "amount: 12 is not greater than 500"
    assert result.trace[0].matched is False


def test_dry_run_with_a_missing_field(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({}))

    assert (result.would_fire, result.reason, result.trace[0].found) == (False, "amount: missing", False)


def test_dry_run_of_a_paused_trigger_never_fires(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, {**HIGH_VALUE, "status": "paused"}, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({"amount": 750}))

    assert (result.would_fire, result.reason) == (False, "Trigger is paused")
    assert result.trace[0].matched is True


def test_dry_run_checks_the_event_type(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({"amount": 750}, "page_view"))

    assert (result.would_fire, result.reason) == (False, "Trigger listens to purchase, not page_view")


def test_dry_run_accepts_an_internal_type_of_the_event(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, {**HIGH_VALUE, "event_type": "outcome.recorded"}, "alice")["trigger_id"]

    assert dry_runs.test(tenant, trigger_id, event({"amount": 750}, "purchase")).would_fire


def test_dry_run_without_a_type_skips_the_type_check(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    assert dry_runs.test(tenant, trigger_id, event({"amount": 750}, "")).would_fire


def test_dry_run_without_a_condition_always_fires(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, {**HIGH_VALUE, "condition": None}, "alice")["trigger_id"]

    result = dry_runs.test(tenant, trigger_id, event({}))

    assert (result.would_fire, result.reason, result.trace) == (True, "No condition: always fires", [])


def test_dry_run_records_nothing(triggers, dry_runs, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    position = triggers.listing.listing_position()

    dry_runs.test(tenant, trigger_id, event({"amount": 750}))

    assert triggers.get(tenant, trigger_id)["version"] == 1
    assert triggers.listing.listing_position() == position == triggers.index.position


def test_page_orders_by_priority_then_age_and_filters(triggers, tenant):
    low = triggers.create(tenant, {**HIGH_VALUE, "priority": 10}, "alice")
    first = triggers.create(tenant, HIGH_VALUE, "alice")
    second = triggers.create(tenant, {**HIGH_VALUE, "event_type": "page_view"}, "alice")
    paused = triggers.create(tenant, {**HIGH_VALUE, "priority": 99, "status": "paused"}, "alice")

    def page(status=None, event_type=None, limit=50, offset=0):
        rows, total = triggers.page(tenant, status, event_type, limit, offset)
        return [r["trigger_id"] for r in rows], total

    assert page() == ([t["trigger_id"] for t in (paused, first, second, low)], 4)
    assert page(status="active", event_type="purchase") == ([first["trigger_id"], low["trigger_id"]], 2)
    assert page(limit=2, offset=1) == ([first["trigger_id"], second["trigger_id"]], 4)


def test_index_holds_active_triggers_in_priority_order(triggers, tenant):
    low = triggers.create(tenant, {**HIGH_VALUE, "priority": 10}, "alice")["trigger_id"]
    high = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    outcome = triggers.create(tenant, {**HIGH_VALUE, "priority": 90, "event_type": "outcome.recorded"},
                              "alice")["trigger_id"]
    triggers.create(tenant, {**HIGH_VALUE, "priority": 99, "status": "paused"}, "alice")

    assert ids(triggers.index, tenant, "purchase") == [high, low]
    assert ids(triggers.index, tenant, "purchase", "outcome.recorded") == [outcome, high, low]
    assert ids(triggers.index, "other", "purchase") == []


def test_index_follows_updates_pauses_and_deletes(triggers, tenant):
    low = triggers.create(tenant, {**HIGH_VALUE, "priority": 10}, "alice")["trigger_id"]
    high = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]

    triggers.update(tenant, low, {"priority": 100}, "bob")
    assert ids(triggers.index, tenant, "purchase") == [low, high]
    triggers.update(tenant, low, {"status": "paused"}, "bob")
    assert ids(triggers.index, tenant, "purchase") == [high]
    triggers.update(tenant, low, {"status": "active", "event_type": "page_view"}, "bob")
    assert ids(triggers.index, tenant, "purchase") == [high] and ids(triggers.index, tenant, "page_view") == [low]
    triggers.delete(tenant, high, "admin")
    assert ids(triggers.index, tenant, "purchase") == []
    assert triggers.index.position == triggers.listing.listing_position()


def test_index_carries_the_current_version_and_condition(triggers, tenant):
    trigger_id = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    triggers.update(tenant, trigger_id, {"condition": {"field": "amount", "operator": "less_than", "value": 5}},
                    "bob")

    [active] = triggers.index.candidates(tenant, ("purchase",))

    assert active.version == 2 and active.condition.matches({"amount": 1}, {})


def test_a_tenant_may_have_so_many_active_triggers_and_paused_ones_do_not_count(tenant):
    triggers = triggers_on(Journal(), max_active=2)
    first = triggers.create(tenant, HIGH_VALUE, "alice")["trigger_id"]
    triggers.create(tenant, HIGH_VALUE, "alice")
    paused = triggers.create(tenant, {**HIGH_VALUE, "status": "paused"}, "alice")["trigger_id"]

    with pytest.raises(TooManyTriggers):
        triggers.create(tenant, HIGH_VALUE, "alice")
    with pytest.raises(TooManyTriggers):
        triggers.update(tenant, paused, {"status": "active"}, "alice")
    triggers.update(tenant, first, {"status": "paused"}, "alice")
    triggers.update(tenant, paused, {"status": "active"}, "alice")
    assert triggers.create("another-tenant", HIGH_VALUE, "alice")["status"] == "active"
