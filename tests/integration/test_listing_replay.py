"""The trigger listing is a projection: rebuilt from the event store it gives the same answer, on both backends."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete

from application.records import UnitOfWork
from application.triggers import Triggers
from domain.cooldown import CustomerCooldown
from infrastructure.sql.listing import SqlTriggerListing
from infrastructure.sql.tables import positions, trigger_counts, trigger_listing
from tests.stores import Stores

TRIPCORD = Path(sys.executable).with_name("tripcord")
JOURNEY = {"name": "High-Value Purchase Trigger", "event_type": "purchase", "action_type": "enroll_journey",
           "action_config": {"journeyId": "journey_001"},
           "condition": {"field": "amount", "operator": "greater_than", "value": 500},
           "priority": 80, "cooldown_ms": 86400000}
WEBHOOK = {"name": "Notify", "event_type": "outcome.recorded", "action_type": "webhook",
           "action_config": {"url": "https://hooks.example.com/in", "secret": "a-plain-secret-of-24-chars!"}}


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
async def open_triggers(url):
    opened_stores = []

    def opened() -> Triggers:
        opened_stores.append(Stores.open(url))
        triggers = opened_stores[-1].triggers()
        triggers.refresh_index()
        return triggers
    yield opened
    for stores in opened_stores:
        await stores.close()


@pytest.fixture
def triggers(open_triggers) -> Triggers:
    return open_triggers()


def tenant() -> str:
    return "t_" + secrets.token_hex(6)


def make_history(triggers: Triggers, tenants: list[str]) -> None:
    """Creates, updates, pauses, reactivates and deletes triggers, with other events in between."""
    for n, tenant_id in enumerate(tenants):
        ids = [triggers.create(tenant_id, {**JOURNEY, "priority": p, "name": f"{tenant_id} {p}"}, "alice")
               ["trigger_id"] for p in (50, 80, 50, 10)]
        webhook = triggers.create(tenant_id, WEBHOOK, "alice")["trigger_id"]
        triggers.record([UnitOfWork(events=[CustomerCooldown.fire_after(None, tenant_id, "tr_x", f"c{n}", 1, "e")])])
        triggers.update(tenant_id, ids[0], {"priority": 99, "description": "raised"}, "bob")
        triggers.update(tenant_id, ids[1], {"status": "paused"}, "bob")
        triggers.update(tenant_id, ids[2], {"status": "paused", "event_type": "page_view"}, "bob")
        triggers.update(tenant_id, ids[2], {"status": "active"}, "carol")
        triggers.delete(tenant_id, ids[3], "admin")
        triggers.update(tenant_id, webhook, {"action_config": {"url": "https://hooks.example.com/v2"}}, "bob")


def snapshot(storage: SqlTriggerListing, tenants: list[str]) -> dict:
    pages = {t: storage.listing_page(t, None, None, 10_000, 0) for t in tenants}
    return {"pages": pages, "changes": storage.listing_changes(0), "position": storage.listing_position()}


def wipe_listing(storage: SqlTriggerListing) -> None:
    with storage.database.engine.begin() as connection:
        connection.execute(delete(trigger_listing))
        connection.execute(delete(trigger_counts))
        connection.execute(delete(positions))


def test_the_history_leaves_a_listing_to_rebuild(triggers):
    tenants = [tenant(), tenant()]

    make_history(triggers, tenants)

    rows, total = triggers.listing.listing_page(tenants[0], None, None, 100, 0)
    assert total == 4 and [r["priority"] for r in rows] == [99, 80, 50, 50]
    assert [r["status"] for r in rows] == ["active", "paused", "active", "active"]


def test_replay_gives_the_same_listing(triggers):
    tenants = [tenant(), tenant()]
    make_history(triggers, tenants)
    before = snapshot(triggers.listing, tenants)

    applied = triggers.listing.replay_listing()

    assert applied == 2 * 12
    assert snapshot(triggers.listing, tenants) == before


def test_replay_into_an_empty_listing(triggers):
    tenants = [tenant(), tenant()]
    make_history(triggers, tenants)
    before = snapshot(triggers.listing, tenants)
    wipe_listing(triggers.listing)
    assert triggers.listing.listing_page(tenants[0], None, None, 100, 0) == ([], 0)

    triggers.listing.replay_listing()

    assert snapshot(triggers.listing, tenants) == before


def test_writes_after_a_replay_continue_the_projection(triggers):
    tenants = [tenant()]
    make_history(triggers, tenants)
    triggers.listing.replay_listing()

    created = triggers.create(tenants[0], {**JOURNEY, "priority": 1000}, "alice")
    before = snapshot(triggers.listing, tenants)
    triggers.listing.replay_listing()

    assert before["pages"][tenants[0]][0][0]["trigger_id"] == created["trigger_id"]
    assert snapshot(triggers.listing, tenants) == before


def test_the_replay_command_rebuilds_the_listing(triggers, url, tmp_path):
    tenants = [tenant(), tenant()]
    make_history(triggers, tenants)
    before = snapshot(triggers.listing, tenants)
    wipe_listing(triggers.listing)
    env = {**os.environ, "TRIPCORD_DATABASE_URL": url, "TRIPCORD_DATA_DIR": str(tmp_path / "cli"),
           "TRIPCORD_NATS_URL": "none"}

    done = subprocess.run([str(TRIPCORD), "replay", "projections"], env=env, capture_output=True, text=True,
                          timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("trigger listing rebuilt from 24 events;"), done.stdout
    assert snapshot(triggers.listing, tenants) == before


def test_another_process_sees_changes_after_refreshing_its_index(open_triggers):
    writer, reader = open_triggers(), open_triggers()
    tenant_id = tenant()

    def active() -> list[str]:
        return [t.trigger_id for t in reader.index.candidates(tenant_id, ("purchase",))]

    trigger_id = writer.create(tenant_id, JOURNEY, "alice")["trigger_id"]
    assert active() == []
    assert reader.listing.listing_position() > reader.index.position
    reader.refresh_index()
    assert active() == [trigger_id]

    writer.update(tenant_id, trigger_id, {"status": "paused"}, "bob")
    reader.refresh_index()
    assert active() == []

    writer.update(tenant_id, trigger_id, {"status": "active", "priority": 5}, "bob")
    reader.refresh_index()
    [seen] = reader.index.candidates(tenant_id, ("purchase",))
    assert (seen.priority, seen.version) == (5, 4)

    writer.delete(tenant_id, trigger_id, "admin")
    reader.refresh_index()
    assert active() == [] and reader.index.position == writer.index.position


def test_another_process_sees_a_trigger_made_before_it_started(open_triggers):
    writer = open_triggers()
    tenant_id = tenant()
    trigger_id = writer.create(tenant_id, JOURNEY, "alice")["trigger_id"]

    reader = open_triggers()

    assert [t.trigger_id for t in reader.index.candidates(tenant_id, ("purchase",))] == [trigger_id]
