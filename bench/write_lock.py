"""How many events per second one PostgreSQL's write lock lets through, for a whole cluster.

    python -m bench.write_lock [--events 20000] [--batch 500]

Every unit that appends to the event log takes the event store's exclusive table lock inside
`tripcord_record_batch` and keeps it until the statement commits, so that log positions commit
in order (the relay's safe horizon). Whatever the number of processes, those statements run one
at a time: the time PostgreSQL spends inside them, per event, bounds the cluster.

This runs the real ingest path (planner, group commit, PostgreSQL writer; the 100 bench triggers,
≈0.55 fires per event) with the stream faked and reads PostgreSQL's own account of the function
(pg_stat_user_functions, with track_functions = 'pl'): calls, total time, and so µs per event
under the lock. One process feeding it back to back is the most the lock sees.
"""

import argparse
import asyncio
import time
from contextlib import ExitStack
from pathlib import Path
from tempfile import TemporaryDirectory

import psycopg

from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.deliveries import Sender
from application.ingestion import IngestPolicy, Ingestion
from application.planner import Planner
from application.tenant_settings import TenantSettings
from bench.common import fresh_database
from bench.use_case import event, index_of
from infrastructure.group_commit import GroupCommit
from infrastructure.settings import Settings
from infrastructure.sql.database import Database, open_journal
from infrastructure.sql.heads import SqlAggregateHeads
from infrastructure.sql.pg_writer import FUNCTION
from infrastructure.sql.units import UnitRecorder
from tests.servers import libpq_url
from tests.unit.fakes import AcknowledgingStream, Observer, inline


async def feed(database_url: str, work: Path, events: int, batch: int) -> tuple[float, int]:
    journal = open_journal(Settings(database_url=database_url, data_dir=work).sqlalchemy_url)
    database = Database(journal)
    recorder = UnitRecorder(database, [], inline)
    commit = GroupCommit(recorder, max_batch=256)
    ingestion = Ingestion(Planner(index_of(100), Cooldowns(), Allowances()), commit,
                          Sender(AcknowledgingStream(), webhooks=None), SqlAggregateHeads(database), repeats=None,
                          blocking=inline,
                          observer=Observer(), settings=TenantSettings(compiler=None), policy=IngestPolicy())
    started = time.perf_counter()
    for n in range(0, events, batch):
        await ingestion.ingest_batch("bench", [event(n + k) for k in range(min(batch, events - n))])
    await commit.drain()
    elapsed = time.perf_counter() - started
    await recorder.close()
    journal.close()
    return elapsed, events


def function_stats(database_url: str) -> tuple[int, float]:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        row = connection.execute("SELECT calls, total_time FROM pg_stat_user_functions WHERE funcname = %s",
                                 (FUNCTION,)).fetchone()
    return row or (0, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with ExitStack() as stack, TemporaryDirectory() as work:
        database_url = fresh_database(stack)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
            name = connection.execute("SELECT current_database()").fetchone()[0]
            connection.execute(f'ALTER DATABASE "{name}" SET track_functions = \'pl\'')
        elapsed, events = asyncio.run(feed(database_url, Path(work), args.events, args.batch))
        time.sleep(1.5)  # backends report their function statistics when they go idle
        calls, total_ms = function_stats(database_url)
        per_event_us = total_ms * 1000 / events
        print(f"{events} events in batches of {args.batch}: {events / elapsed:,.0f} events/s from one process; "
              f"{calls} calls of {FUNCTION}, {total_ms:,.0f} ms inside it")
        print(f"under the write lock: {per_event_us:.1f} µs per event -> at most {1e6 / per_event_us:,.0f} "
              f"events/s for a whole cluster on this PostgreSQL")


if __name__ == "__main__":
    main()
