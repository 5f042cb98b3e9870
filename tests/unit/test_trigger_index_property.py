"""Property test: the index, changed a few rows at a time, always answers what a rebuild would."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from application.trigger_index import TriggerIndex
from tests.unit.fakes import PlainTemplates
from domain.customer_events import INGEST_TYPES, trigger_event_types

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
TENANTS = ["t1", "t2"]
TYPES = ["purchase", "outcome.recorded", "page_view", "customer.updated"]

states = st.fixed_dictionaries({
    "tenant_id": st.sampled_from(TENANTS),
    "trigger_id": st.sampled_from(["a", "b", "c", "d", "e"]),
    "event_type": st.sampled_from(TYPES),
    "priority": st.sampled_from([0, 50, 50, 90]),  # repeats, so order falls through to age and id
    "age_s": st.integers(0, 2),
    "status": st.sampled_from(["active", "active", "paused"]),
    "deleted": st.booleans(),
})
# Batches of changes, as the listing hands them over; a row may also arrive late (an older position).
batches = st.lists(st.lists(st.tuples(states, st.booleans()), min_size=1, max_size=4), min_size=1, max_size=12)


def listing_row(state: dict, position: int) -> dict:
    return {"tenant_id": state["tenant_id"], "trigger_id": state["trigger_id"], "name": state["trigger_id"],
            "version": position, "event_type": state["event_type"], "action_type": "recommend",
            "action_config": {}, "condition": None, "priority": state["priority"], "cooldown_ms": 0,
            "status": state["status"], "deleted": state["deleted"],
            "created_at": T0 + timedelta(seconds=state["age_s"]), "position": position}


def rebuilt(latest: dict) -> TriggerIndex:
    """The reference: a fresh index given each trigger's latest row at once."""
    index = TriggerIndex(PlainTemplates())
    index.apply(list(latest.values()), max((r["position"] for r in latest.values()), default=0))
    return index


def answers(index: TriggerIndex) -> dict:
    """Each tenant's active candidates per ingest type, and the paused ones that match (all do: no conditions)."""
    return {(tenant, ingest_type, paused): [t.trigger_id for t in index.matching(
                tenant, trigger_event_types(ingest_type), {}, {}, paused=paused)]
            for tenant in TENANTS for ingest_type in INGEST_TYPES for paused in (False, True)}


@settings(max_examples=300, deadline=None)
@given(batches)
def test_changes_applied_in_batches_give_the_same_active_and_paused_matches_as_a_rebuild(batches):
    index, latest, position = TriggerIndex(PlainTemplates()), {}, 1000
    for batch in batches:
        rows = []
        for state, late in batch:
            position += 1
            row = listing_row(state, position - 100 if late else position)
            key = (row["tenant_id"], row["trigger_id"])
            if key not in latest or latest[key]["position"] < row["position"]:
                latest[key] = row
            rows.append(row)
        index.apply(rows, position)

        reference = rebuilt(latest)
        assert answers(index) == answers(reference)
        assert len(index) == len(reference)
        assert {k: v for k, v in answers(index).items() if k[2]} == naive_paused(latest)


def naive_paused(latest: dict) -> dict:
    """The paused triggers each ingest type matches, from the latest rows alone, in evaluation order."""
    def matching(tenant: str, types: tuple) -> list[str]:
        rows = [r for r in latest.values() if r["tenant_id"] == tenant and r["status"] == "paused"
                and not r["deleted"] and r["event_type"] in types]
        return [r["trigger_id"] for r in sorted(rows, key=lambda r: (-r["priority"], r["created_at"],
                                                                     r["trigger_id"]))]
    return {(tenant, ingest_type, True): matching(tenant, trigger_event_types(ingest_type))
            for tenant in TENANTS for ingest_type in INGEST_TYPES}
