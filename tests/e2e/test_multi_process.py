"""Two real `tripcord serve` processes on one PostgreSQL and one NATS: one index, one cooldown."""

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from collections import Counter

import aiohttp
import orjson
import pytest
from aiohttp import web

from tests.api import JWT_SECRET, token
from tests.e2e.ingest_helpers import INGEST, TRIGGERS, StreamProbe, eventually
from tests.e2e.receivers import Receiver
from tests.servers import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One `tripcord serve` on 127.0.0.1, spoken to as one tenant's admin."""

    def __init__(self, name: str, tmp_path: Path, database_url: str, nats_url: str, tenant: str, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"{name}.log"
        self.tenant = tenant
        env = {**os.environ, "TRIPCORD_DATABASE_URL": database_url, "TRIPCORD_NATS_URL": nats_url,
               "TRIPCORD_JWT_SECRET": JWT_SECRET, "TRIPCORD_DATA_DIR": str(tmp_path / name),
               "TRIPCORD_INDEX_POLL_S": "0.1", "TRIPCORD_RELAY_POLL_S": "0.1", **env}
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "interfaces.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.headers = {"Authorization": f"Bearer {token((tenant,))}", "X-Tenant-Id": tenant}

    async def wait_ready(self, session: aiohttp.ClientSession, timeout: float = 30) -> None:
        async def ready():
            assert self.process.poll() is None, self.log_path.read_text()
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(self.url + "/readyz") as response:
                    return response.status == 200
        await eventually(ready, timeout, interval=0.1, message=f"{self.url}/readyz")

    async def call(self, session, method: str, path: str, expect: int = 200, **kwargs) -> dict:
        async with session.request(method, self.url + path, headers=self.headers, **kwargs) as response:
            body = await response.json()
            assert response.status == expect, (response.status, body)
            return body

    async def ingest(self, session, customer: str) -> dict:
        return await self.call(session, "POST", INGEST, json={"type": "purchase", "customerId": customer})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def two_processes(tmp_path, fresh_postgres_url, nats_url):
    tenant = "t_multi_" + os.urandom(4).hex()
    processes = []
    try:
        for name in ("a", "b"):
            processes.append(Process(name, tmp_path, fresh_postgres_url, nats_url, tenant))
        yield processes
    finally:
        for process in processes:
            process.stop()


async def test_two_processes_share_triggers_and_fire_a_cooldown_once(two_processes, nats_url):
    a, b = two_processes
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(a.wait_ready(session), b.wait_ready(session))
        trigger = await a.call(session, "POST", TRIGGERS, expect=201, json={
            "name": "once an hour", "eventType": "purchase", "actionType": "recommend",
            "actionConfig": {"decisionFlowId": "df_1"}, "cooldownMs": 3_600_000})

        listed = await eventually(lambda: _lists(session, b, trigger["id"]), timeout=5, message="B's listing")
        probes = iter(range(1000))
        first_on_b = await eventually(lambda: _fires_on(session, b, f"probe-{next(probes)}", trigger["id"]),
                                      timeout=5, interval=0.05, message="B's index")
        burst = await asyncio.gather(*(p.ingest(session, "c1") for _ in range(12) for p in (a, b)))

        await a.call(session, "PUT", f"{TRIGGERS}/{trigger['id']}", json={"status": "paused"})
        await eventually(lambda: _quiet_on(session, b, f"paused-{next(probes)}"), timeout=5,
                         message="B's index seeing the pause")

    assert [t["id"] for t in listed["data"]] == [trigger["id"]] and first_on_b
    fired = [answer for answer in burst if answer["triggersMatched"]]
    assert len(fired) == 1 and len(burst) == 24
    async with StreamProbe(nats_url) as probe:
        actions = await probe.messages(f"tripcord.actions.{a.tenant}.recommend")
    for_c1 = [m for m in actions if orjson.loads(m.data)["event"]["customerId"] == "c1"]
    assert [m.headers["Nats-Msg-Id"] for m in for_c1] == [fired[0]["actionsDispatched"][0]["dispatchId"]]


async def _lists(session, process: Process, trigger_id: str):
    listed = await process.call(session, "GET", TRIGGERS)
    return listed if any(t["id"] == trigger_id for t in listed["data"]) else None


async def _fires_on(session, process: Process, customer: str, trigger_id: str) -> bool:
    answer = await process.ingest(session, customer)
    return [m["triggerId"] for m in answer["triggersMatched"]] == [trigger_id]


async def _quiet_on(session, process: Process, customer: str) -> bool:
    return (await process.ingest(session, customer))["triggersMatched"] == []


HOOK_ENV = {"TRIPCORD_WEBHOOK_ALLOW_PRIVATE": "true", "TRIPCORD_RETRY_SCHEDULE": "0.1",
            "TRIPCORD_RELAY_GRACE_S": "1", "TRIPCORD_DISPATCH_DEADLINE_S": "0.5"}


async def test_dead_dispatches_resent_in_bulk_are_delivered_once_and_counts_agree_everywhere(
        tmp_path, fresh_postgres_url, nats_url, aiohttp_server):
    receiver = Receiver(then=500)
    hook = web.Application()
    hook.router.add_post("/hook", receiver.handle)
    url = str((await aiohttp_server(hook, host="127.0.0.1")).make_url("/hook"))
    tenant = "t_bulk_" + os.urandom(4).hex()
    a, b = (Process(name, tmp_path, fresh_postgres_url, nats_url, tenant, **HOOK_ENV) for name in ("a", "b"))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await asyncio.gather(a.wait_ready(session), b.wait_ready(session))
            trigger = await a.call(session, "POST", TRIGGERS, expect=201, json={
                "name": "crm", "eventType": "purchase", "actionType": "webhook", "actionConfig": {"url": url}})
            probes = iter(range(1000))
            await eventually(lambda: _fires_on(session, b, f"probe-{next(probes)}", trigger["id"]), timeout=5,
                             message="B's index")
            answers = await asyncio.gather(*(p.ingest(session, f"c{n}") for n in range(10) for p in (a, b)))
            owed = {x["actionErrors"][0]["dispatchId"] for x in answers}
            stats_path = f"{TRIGGERS}/{trigger['id']}/stats"
            fired = (await a.call(session, "GET", stats_path))["fired"]  # the 20, and the probe that fired
            await eventually(lambda: _counted(session, a, stats_path, dead=fired), timeout=20, message="all dead")
            dead_on = [await p.call(session, "GET", stats_path) for p in (a, b)]
            receiver.then, before = 200, len(receiver.requests)

            resent = await a.call(session, "POST", "/api/v1/dispatches/retry", expect=202, json={"status": "dead"})
            await eventually(lambda: _counted(session, b, stats_path, delivered=fired), timeout=20,
                             message="all delivered")
            await asyncio.sleep(1.0)  # time for a second copy to arrive, were one sent
            delivered_on = [await p.call(session, "GET", stats_path) for p in (a, b)]
            b.stop()
            restarted = Process("b2", tmp_path, fresh_postgres_url, nats_url, tenant, **HOOK_ENV)
            b = restarted
            await restarted.wait_ready(session)
            after_restart = await restarted.call(session, "GET", stats_path)
    finally:
        a.stop()
        b.stop()

    assert fired == 21 and resent == {"matched": fired}
    assert dead_on[0] == dead_on[1] and dead_on[0]["dead"] == fired
    resends = Counter(receiver.ids[before:])
    assert set(resends) >= owed and set(resends.values()) == {1}  # each dead dispatch sent exactly once more
    assert Counter(receiver.delivered) == Counter(dict.fromkeys(resends, 1))
    assert delivered_on[0] == delivered_on[1] == after_restart
    assert (after_restart["delivered"], after_restart["dead"], after_restart["retrying"]) == (21, 0, 0)
    print(f"\nFIGURES bulk-resend: processes=2 dispatches={len(resends)} resent-matched={resent['matched']} "
          f"deliveries-after-resend={sum(resends.values())} duplicates={sum(n - 1 for n in resends.values())}")


async def _counted(session, process: Process, path: str, **expected: int) -> bool:
    found = await process.call(session, "GET", path)
    return all(found[key] == value for key, value in expected.items())


async def test_a_frequency_cap_holds_across_two_processes(two_processes):
    a, b = two_processes
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(a.wait_ready(session), b.wait_ready(session))
        await a.call(session, "PUT", "/api/v1/settings/frequency-caps", json=[{"limit": 1, "periodMs": 3_600_000}])
        triggers = [await a.call(session, "POST", TRIGGERS, expect=201, json={
            "name": name, "eventType": "purchase", "actionType": "recommend", "priority": priority,
            "actionConfig": {"decisionFlowId": "df_1"}}) for name, priority in (("a", 60), ("b", 50))]
        probes = iter(range(1000))
        await eventually(lambda: _capped_on(session, b, f"probe-{next(probes)}"), timeout=5,
                         message="B's caps and triggers")
        burst = await asyncio.gather(*(p.ingest(session, "c1") for _ in range(12) for p in (a, b)))
        stats = [await a.call(session, "GET", f"{TRIGGERS}/{t['id']}/stats") for t in triggers]

    fired = [m["triggerId"] for answer in burst for m in answer["triggersMatched"]]
    assert len(burst) == 24 and len(fired) == 1
    assert sum(s["suppressed"]["frequency_capped"] for s in stats) >= 2 * 24 - 1


async def _capped_on(session, process: Process, customer: str) -> bool:
    """B knows both triggers and the cap: the customer's first event fires one trigger and caps the
    other (both matched it), the next fires none."""
    first = await process.ingest(session, customer)
    second = await process.ingest(session, customer)
    story = await process.call(session, "GET", f"/api/v1/events/{first['eventId']}")
    outcomes = sorted(t["outcome"] for t in story["triggers"])
    return outcomes == ["fired", "frequency_capped"] and second["triggersMatched"] == []
