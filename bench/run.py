"""The ingest benchmark, in one run: the floor, the bare endpoint, Tripcord with two trigger mixes, and batches.

    python -m bench.run [--duration 10] [--connections 32] [--workers 1] [--batch 100] [--without ...]

In one run, on the same machine and services (see bench/common.py for BENCH_POSTGRES_URL and
BENCH_NATS_URL), one after the other under the same wrk load (bench/ingest.lua), and the floor once
more at the end; the ratios are to the mean of its two runs, since a shared machine changes pace:
  floor   bench/floor_server.py "both": a group-committed row and an acknowledged publish per event
  bare    bench/bare_server.py: aiohttp answering JSON, nothing else
  mix a   Tripcord, 100 triggers in the tenant (bench/triggers.py: about half a fire per event)
  mix b   Tripcord, 1,000 triggers in another tenant (about five fires per event)
  batch   Tripcord, POST /api/v1/events/batch with --batch events each (bench/ingest.lua with BENCH_BATCH), mix a's tenant
Right after each Tripcord run it reads how many events the relay has not yet looked at (it must
keep up, not settle the backlog after the load). Then it checks every guarantee for every event acknowledged: in the event log, in TRIPCORD_EVENTS
exactly once, nothing left owed (every event streamed, every dispatch delivered or dead), and no
cooldown fired inside its window. --without (see bench/serve.py) switches parts of a request off to
measure what they cost; the guarantees then no longer hold, by design.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (check_guarantees, cpu_seconds, create_triggers, fire_counts,  # noqa: E402
                          fires_per_event, fresh_database, relay_backlog, service_env, stream_sequence,
                          stream_url, wait_ready, wrk)
from tests.servers import free_port  # noqa: E402

MIXES = {"a": ("bench-a", 100), "b": ("bench-b", 1000)}
TARGETS = {"a": 0.5, "b": 0.25, "batch": 3.0}  # of the floor's req/s
FLOOR = ["bench/floor_server.py", "{port}", "both"]


def measure(port: int, pid: int, duration: int, connections: int, ids_file: Path | None, **load) -> dict:
    wrk(port, 2, connections, ids_file, **load)  # warm-up; its events are checked too
    before = cpu_seconds(pid)
    result = wrk(port, duration, connections, ids_file, **load)
    used = {name: seconds - before[name] for name, seconds in cpu_seconds(pid).items()}
    result["cpu"] = {name: seconds / result["requests"] * 1e6 for name, seconds in used.items()}
    return result


def server(command: list[str], env: dict, stack: ExitStack, log: Path) -> subprocess.Popen:
    out = stack.enter_context(open(log, "wb"))  # a pipe nobody reads would fill and block
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    stack.callback(lambda: (process.terminate(), process.wait(15)))
    return process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100, help="events per batch request (0: no batch run)")
    parser.add_argument("--mixes", nargs="*", default=["a", "b"], choices=sorted(MIXES))
    parser.add_argument("--without", default="", help="parts switched off (bench/serve.py); one worker only")
    parser.add_argument("--skip-references", action="store_true", help="no floor and bare runs")
    args = parser.parse_args()
    results, checks = {}, []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tripcord-bench-")))
        database_url = fresh_database(stack)
        nats_url = stream_url(stack, work)
        env = service_env(work, database_url, nats_url)
        def reference(name: str, command: list[str]) -> dict:
            port = free_port()
            with ExitStack() as running:
                process = server([sys.executable, *(c.format(port=port) for c in command)],
                                 {**env, "FLOOR_POSTGRES_URL": database_url, "FLOOR_NATS_URL": nats_url},
                                 running, work / f"{name}.log")
                wait_ready(f"http://127.0.0.1:{port}/readyz")
                return measure(port, process.pid, args.duration, args.connections, None)

        if not args.skip_references:
            results["floor"] = reference("floor", FLOOR)
            results["bare"] = reference("bare", ["bench/bare_server.py", "{port}"])
        first_sequence = stream_sequence(nats_url)
        port = free_port()
        command = ([sys.executable, "-m", "bench.serve", str(port), "--without", args.without] if args.without else
                   [sys.executable, "-m", "interfaces.cli", "serve", "--port", str(port), "--workers", str(args.workers)])
        tripcord = server(command, env, stack, work / "serve.log")
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        for mix in dict.fromkeys([*args.mixes, *(["a"] if args.batch else [])]):  # batches go to mix a's tenant
            create_triggers(port, MIXES[mix][1], MIXES[mix][0])
        time.sleep(1.5)  # every worker's index polls the new triggers in
        def tripcord_run(name: str, tenant: str, connections: int, **load) -> dict:
            """A run against Tripcord: its figures, the relay's backlog right after, and its fires per event."""
            ids = work / f"acknowledged-{name}.txt"
            before = fire_counts(database_url, tenant)
            result = measure(port, tripcord.pid, args.duration, connections, ids, tenant=tenant, **load)
            result["behind"] = relay_backlog(database_url)
            result["fires"] = fires_per_event(before, fire_counts(database_url, tenant))
            checks.append(ids)
            return result

        for mix in args.mixes:
            results[mix] = tripcord_run(mix, MIXES[mix][0], args.connections)
        if args.batch:
            results["batch"] = tripcord_run("batch", MIXES["a"][0], max(4, args.connections // 8), batch=args.batch)
            results["batch"]["events"] = results["batch"]["rps"] * args.batch
        acknowledged = {i for ids in checks for i in ids.read_text().split()}
        guarantees = check_guarantees(database_url, nats_url, acknowledged, 100, first_sequence)
        if not args.skip_references:  # the machine may have changed pace meanwhile: the gauge is both
            results["floor after"] = reference("floor-after", FLOOR)
    return report(args, results, guarantees)


def report(args, results: dict, guarantees) -> int:
    floors = [results[name]["rps"] for name in ("floor", "floor after") if name in results]
    floor, bare = (sum(floors) / len(floors) if floors else None), results.get("bare", {}).get("rps")
    print(f"\nIngest benchmark — {args.duration} s runs, {args.connections} connections, {args.workers} worker(s)"
          + (f", without {args.without}" if args.without else "") + ", PostgreSQL + JetStream")
    print(f"  {'run':<24}{'req/s':>9}{'events/s':>10}{'of floor':>10}{'of bare':>9}{'p50 ms':>8}{'p99 ms':>8}"
          f"{'errors':>8}   CPU µs/request: service, PostgreSQL, NATS")
    for name, label in (("floor", "floor (row + publish)"), ("bare", "bare aiohttp"), ("a", "mix a, 100 triggers"),
                        ("b", "mix b, 1,000 triggers"), ("batch", f"batch of {args.batch}"),
                        ("floor after", "floor again, at the end")):
        if name not in results:
            continue
        r = results[name]
        events = r.get("events", r["rps"])
        of_floor = f"{events / floor:>10.3f}" if floor else f"{'-':>10}"
        of_bare = f"{r['rps'] / bare:>9.3f}" if bare else f"{'-':>9}"
        cpu = ", ".join(f"{us:.0f}" for us in r["cpu"].values())
        fires = f"  ({r['fires']:.2f} fires/event)" if "fires" in r else ""
        fires += f"  (relay {r['behind']} events behind at the end)" if "behind" in r else ""
        print(f"  {label:<24}{r['rps']:>9.0f}{events:>10.0f}{of_floor}{of_bare}{r['p50'] * 1000:>8.2f}"
              f"{r['p99'] * 1000:>8.2f}{r['errors']:>8}   {cpu}{fires}")
    ok = all(r["errors"] == 0 for r in results.values())
    if floor:
        print(f"  the floor: {floor:.0f} req/s, the mean of its runs before and after Tripcord's")
        for name, target in TARGETS.items():
            if name in results:
                events = results[name].get("events", results[name]["rps"])
                print(f"  {name}: {events / floor:.3f} of the floor (target ≥ {target})")
    print(guarantees.report())
    ok &= guarantees.hold
    print("  guarantees: " + ("HOLD" if guarantees.hold else "BROKEN") + ("" if ok else "  (errors in a run)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
