"""Per-trigger counts, changed in the same transaction as the facts they count, so they stay exact."""

from collections import defaultdict

from sqlalchemy import case, delete, func, select, text

from application.records import LoggedEvent, TriggerOutcome, TriggerStats
from domain.customer_events import FIRED
from domain.dispatch import DEAD, DELIVERED, RETRYING
from infrastructure.sql.tables import dispatches, event_log, trigger_stats

COUNTED = ("fired", "cooldown", "frequency_capped", DELIVERED, RETRYING, DEAD)
STATUS_COUNTED = (DELIVERED, RETRYING, DEAD)  # pending is fired less these


class Tally:
    """Count changes per (tenant, trigger), gathered while a transaction records its facts."""

    def __init__(self):
        self.changes: dict[tuple[str, str], dict] = defaultdict(dict)

    def outcomes(self, logged: LoggedEvent) -> None:
        for outcome in logged.decided():
            change = self.changes[(logged.tenant_id, outcome.trigger_id)]
            change[outcome.outcome] = change.get(outcome.outcome, 0) + 1
            if outcome.outcome == FIRED:
                change["last_fired_at_ms"] = max(change.get("last_fired_at_ms", 0), logged.received_at_ms)

    def status(self, tenant_id: str, trigger_id: str, before: str | None, after: str) -> None:
        if before == after:
            return
        change = self.changes[(tenant_id, trigger_id)]
        if before in STATUS_COUNTED:
            change[before] = change.get(before, 0) - 1
        if after in STATUS_COUNTED:
            change[after] = change.get(after, 0) + 1

    def write(self, session, database) -> None:
        if not self.changes:
            return
        rows = [{"tenant_id": tenant, "trigger_id": trigger, **{c: change.get(c, 0) for c in COUNTED},
                 "last_fired_at_ms": change.get("last_fired_at_ms")}
                for (tenant, trigger), change in sorted(self.changes.items())]  # sorted: no lock-order deadlock
        statement = database.upsert(trigger_stats)
        kept, new = trigger_stats.c, statement.excluded
        session.execute(statement.on_conflict_do_update(
            index_elements=[kept.tenant_id, kept.trigger_id],
            set_={**{c: getattr(kept, c) + getattr(new, c) for c in COUNTED},
                  "last_fired_at_ms": case((new.last_fired_at_ms > func.coalesce(kept.last_fired_at_ms, 0),
                                            new.last_fired_at_ms), else_=kept.last_fired_at_ms)}), rows)
        self.changes.clear()


def read_stats(connection, tenant_id: str, trigger_ids) -> dict[str, TriggerStats]:
    rows = connection.execute(select(trigger_stats).where(trigger_stats.c.tenant_id == tenant_id,
                                                          trigger_stats.c.trigger_id.in_(list(trigger_ids))))
    return {row.trigger_id: TriggerStats(row.fired, row.cooldown, row.frequency_capped, row.delivered,
                                         row.retrying, row.dead, row.last_fired_at_ms) for row in rows}


def rebuild_stats(database, page: int = 5000) -> int:
    """Counts again from the facts: every event's outcomes in the event log, every dispatch's status.
    Writers of those facts wait meanwhile (on PostgreSQL the tables are locked), so they agree."""
    tally, after, counted = Tally(), 0, 0
    with database.transaction() as session:
        database.lock_event_log(session)
        if database.is_postgres:
            session.execute(text(f"LOCK TABLE {dispatches.name}, {trigger_stats.name} IN SHARE ROW EXCLUSIVE MODE"))
        session.execute(delete(trigger_stats))
        while rows := session.execute(select(event_log.c.position, event_log.c.tenant_id, event_log.c.received_at_ms,
                                             event_log.c.outcomes).where(event_log.c.position > after)
                                      .order_by(event_log.c.position).limit(page)).all():
            for position, tenant_id, received_at_ms, outcomes in rows:
                tally.outcomes(LoggedEvent(tenant_id, "", "", "", received_at_ms, {},
                                           tuple(TriggerOutcome(*o) for o in outcomes)))
            after, counted = rows[-1][0], counted + len(rows)
        for tenant_id, trigger_id, status, count in session.execute(
                select(dispatches.c.tenant_id, dispatches.c.trigger_id, dispatches.c.status, func.count())
                .group_by(dispatches.c.tenant_id, dispatches.c.trigger_id, dispatches.c.status)):
            if status in STATUS_COUNTED:
                change = tally.changes[(tenant_id, trigger_id)]
                change[status] = change.get(status, 0) + count
        tally.write(session, database)
    return counted
