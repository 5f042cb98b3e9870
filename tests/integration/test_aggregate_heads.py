"""A process that lost a clash learns what the store holds in one read, on both databases."""

from datetime import datetime, timezone


from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.deliveries import Sender
from application.ingestion import IngestPolicy, Ingestion
from application.planner import Planner
from application.tenant_settings import TenantSettings
from application.trigger_index import TriggerIndex
from domain.cooldown import CustomerCooldown
from domain.frequency_caps import CustomerAllowance, FrequencyCap
from infrastructure.group_commit import GroupCommit
from infrastructure.sql.heads import SqlAggregateHeads
from tests.stores import Stores
from tests.unit.fakes import AcknowledgingStream, Observer, PlainTemplates, inline

T0 = 1_800_000_000_000
KEY = ("t1", "tr_1", "c1")


def test_the_heads_are_each_aggregate_s_last_events_oldest_first(stores):
    journal = stores.database.journal
    journal.save(*(CustomerCooldown.fire_after(n or None, *KEY, T0 + n, f"evt_{n}") for n in range(120)))
    allowance = ("t1", "c1", "cap")
    journal.save(*(CustomerAllowance.spend_after(n or None, *allowance, T0 + n, 3) for n in range(7)))
    cooldown_id, allowance_id = CustomerCooldown.create_id(*KEY), CustomerAllowance.create_id(*allowance)

    heads = SqlAggregateHeads(stores.database).latest(
        {cooldown_id: 1, allowance_id: 3, CustomerCooldown.create_id("t1", "tr_1", "nobody"): 1})

    assert set(heads) == {cooldown_id, allowance_id}
    assert [(e.originator_version, e.fired_at_ms) for e in heads[cooldown_id]] == [(120, T0 + 119)]
    assert [(e.originator_version, e.spent_at_ms) for e in heads[allowance_id]] == [(5, T0 + 4), (6, T0 + 5), (7, T0 + 6)]


def process(stores: Stores, cooldown_ms: int = 3_600_000, caps=()) -> Ingestion:
    """One process's ingestion, with its own caches, on the shared database."""
    index = TriggerIndex(PlainTemplates())
    row = {"tenant_id": "t1", "trigger_id": "tr_1", "name": "n", "version": 1, "event_type": "purchase",
           "action_type": "recommend", "action_config": {"decisionFlowId": "df"}, "condition": None,
           "priority": 50, "cooldown_ms": cooldown_ms, "status": "active", "deleted": False,
           "created_at": datetime(2026, 1, 1, tzinfo=timezone.utc), "position": 1}
    index.apply([row], 1)
    planner = Planner(index, Cooldowns(), Allowances(), caps=lambda tenant_id: caps)
    return Ingestion(planner, GroupCommit(stores.recorder, 64), Sender(AcknowledgingStream(), webhooks=None),
                     SqlAggregateHeads(stores.database), repeats=None, blocking=inline, observer=Observer(),
                     settings=TenantSettings(compiler=None), policy=IngestPolicy())


async def test_the_second_process_learns_the_first_one_s_fire_and_holds_its_cooldown(stores):
    first, second = process(stores), process(stores)
    purchase = {"type": "purchase", "customerId": "c1", "data": {}}

    fired = await first.ingest("t1", dict(purchase))
    held = await second.ingest("t1", dict(purchase))  # its cache knows nothing: refused, it learns, decides again
    again = await second.ingest("t1", dict(purchase))  # now it knows without asking

    assert [m.trigger_id for m in fired.matched] == ["tr_1"]
    assert held.matched == [] and again.matched == []
    outcomes = [e.event.outcomes[0].outcome for e in stores.event_log.tail(0, 10)]
    assert outcomes == ["fired", "cooldown", "cooldown"]


async def test_the_second_process_learns_the_allowance_the_first_one_spent(stores):
    caps = (FrequencyCap(limit=2, period_ms=86_400_000),)
    first, second = process(stores, cooldown_ms=0, caps=caps), process(stores, cooldown_ms=0, caps=caps)
    purchase = {"type": "purchase", "customerId": "c1", "data": {}}

    answers = [await first.ingest("t1", dict(purchase)), await second.ingest("t1", dict(purchase)),
               await second.ingest("t1", dict(purchase)), await first.ingest("t1", dict(purchase))]

    assert [len(a.matched) for a in answers] == [1, 1, 0, 0]
    outcomes = [e.event.outcomes[0].outcome for e in stores.event_log.tail(0, 10)]
    assert outcomes == ["fired", "fired", "frequency_capped", "frequency_capped"]
