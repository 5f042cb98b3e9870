"""How far the stack itself lets ingest go: the floor endpoint's modes against the bare one.

    python bench/floor.py [--duration 10] [--connections 32] [--modes bare commit publish both]

Same wrk script, machine and services as bench/run.py (BENCH_POSTGRES_URL / BENCH_NATS_URL, else
throwaway servers). For each mode of bench/floor_server.py it prints req/s, the ratio to the bare
mode, latency and the CPU per request of the server, PostgreSQL and nats-server. A mode's ratio
is a ceiling for any ingest design on this stack that does that much I/O per event.
"""

import argparse
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.floor_server import MODES  # noqa: E402
from bench.common import cpu_seconds, fresh_database, stream_url, wait_ready, wrk  # noqa: E402
from tests.servers import free_port  # noqa: E402


def measure(mode: str, env: dict, duration: int, connections: int) -> dict:
    print(f"measuring {mode} …", file=sys.stderr, flush=True)
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "floor_server.py"), str(port), mode],
                              env=env, stdout=subprocess.DEVNULL)
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        wrk(port, 2, connections, None, None)
        before = cpu_seconds(server.pid)
        result = wrk(port, duration, connections, None, None)
        used = {name: seconds - before[name] for name, seconds in cpu_seconds(server.pid).items()}
    finally:
        server.terminate()
        server.wait(10)
    result["cpu"] = {name: seconds / result["requests"] * 1e6 for name, seconds in used.items()}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--modes", nargs="+", default=["bare", "commit", "publish", "publish-nats-py", "both"],
                        choices=MODES)
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tripcord-floor-")))
        env = {**os.environ, "FLOOR_POSTGRES_URL": fresh_database(stack), "FLOOR_NATS_URL": stream_url(stack, work)}
        results = {mode: measure(mode, env, args.duration, args.connections) for mode in args.modes}
    bare = results.get("bare", {}).get("rps")
    print(f"\nFloor benchmark — {args.duration} s, {args.connections} connections, one process each")
    for mode, r in results.items():
        ratio = f"{r['rps'] / bare:5.3f}" if bare else "  n/a"
        cpu = ", ".join(f"{name} {us:.0f}" for name, us in r["cpu"].items())
        print(f"  {mode:16} {r['rps']:8.0f} req/s  ratio {ratio}  p50 {r['p50']*1000:5.2f} ms  "
              f"p99 {r['p99']*1000:5.2f} ms  errors {r['errors']}  CPU µs/request: {cpu}")
    return 0 if all(r["errors"] == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
