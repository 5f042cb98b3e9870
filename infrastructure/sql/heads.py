"""The last few events of small aggregates, in one statement: what a refused plan needs to learn.

When another process fired a cooldown or spent an allowance first, this process only needs the
aggregate's latest version and the state its last events carry (a cooldown's last fire, an
allowance's last `limit` spends). Rebuilding the aggregate through the repository cost a session
and three to four round trips per aggregate, one thread hop each; this reads every wanted aggregate's
tail at once, through the primary key (originator_id, originator_version), whatever its history.
"""

from eventsourcing.persistence import StoredEvent
from sqlalchemy import func, select

from infrastructure.sql.database import Database


class SqlAggregateHeads:
    def __init__(self, database: Database):
        self.database = database
        self.mapper = database.journal.mapper
        self.table = database.recorder.events_record_cls.__table__

    def latest(self, wanted: dict) -> dict:
        if not wanted:
            return {}
        t = self.table
        ranked = select(t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state,
                        func.row_number().over(partition_by=t.c.originator_id,
                                               order_by=t.c.originator_version.desc()).label("n")
                        ).where(t.c.originator_id.in_(list(wanted))).subquery()
        statement = (select(ranked.c.originator_id, ranked.c.originator_version, ranked.c.topic, ranked.c.state,
                            ranked.c.n)
                     .where(ranked.c.n <= max(wanted.values()))
                     .order_by(ranked.c.originator_id, ranked.c.originator_version))
        with self.database.reading() as connection:
            rows = connection.execute(statement).all()
        found: dict = {}
        for originator_id, version, topic, state, n in rows:
            if n <= wanted[originator_id]:
                stored = StoredEvent(originator_id, version, topic, bytes(state))
                found.setdefault(originator_id, []).append(self.mapper.to_domain_event(stored))
        return found
