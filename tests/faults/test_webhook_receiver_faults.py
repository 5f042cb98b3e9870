"""A webhook receiver that is down or slow: answers stay within the deadline; dispatches retry, then die."""

import asyncio
import time
from collections import Counter
import pytest
from aiohttp import web

from interfaces.app import create_app
from interfaces.keys import DISPATCH_LOG
from tests.api import Caller, make_settings, random_tenant
from tests.faults.load import IngestLoad, until
from tests.servers import free_port

RETRY_SCHEDULE = "0.05,0.1"
MAX_ATTEMPTS = 3  # the first, then one per delay


async def slow_failing_receiver(aiohttp_server, hits: Counter) -> str:
    """Answers 500, and only after 2.5 s: past the request's 2 s deadline."""
    async def handle(request: web.Request) -> web.Response:
        hits[request.headers["webhook-id"]] += 1
        await asyncio.sleep(2.5)
        return web.Response(status=500)
    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    return str(server.make_url("/hook"))


@pytest.mark.slow
@pytest.mark.parametrize("receiver", ["down", "slow"])
async def test_requests_answer_within_the_deadline_and_dispatches_die_after_their_retries(
        aiohttp_client, aiohttp_server, tmp_path, sqlite_url, receiver):
    hits = Counter()
    url = (f"http://127.0.0.1:{free_port()}/hook" if receiver == "down"
           else await slow_failing_receiver(aiohttp_server, hits))
    settings = make_settings(tmp_path, sqlite_url, webhook_allow_private=True, dispatch_deadline_s=2.0,
                             retry_schedule=RETRY_SCHEDULE, webhook_host_connections=32)  # all 20 at once
    client = await aiohttp_client(create_app(settings))
    api = Caller(client, random_tenant())
    await api.json("POST", "/api/v1/triggers", expect=201, json={
        "name": "notify", "eventType": "purchase", "actionType": "webhook", "actionConfig": {"url": url}})

    load = IngestLoad(client, api.headers, total=20, concurrency=20, timeout_s=10.0, max_seconds=20)
    started = time.monotonic()
    await load.run()
    dispatch_ids = [e["dispatchId"] for a in load.answers for e in a.body["actionErrors"]]
    log = client.app[DISPATCH_LOG]

    def outcomes() -> list[list[str]]:
        records = [log.get(api.tenant, d) for d in dispatch_ids]
        return [[a["outcome"] for a in r.attempts] + [r.state.status] if r else [] for r in records]
    dead = await until(lambda: all(h[-1:] == ["dead"] for h in outcomes()), timeout=30, interval=0.2)

    assert load.statuses() == {200: 20}
    assert load.slowest() < 3.0
    assert len(dispatch_ids) == 20 and not any(a.body["actionsDispatched"] for a in load.answers)
    assert dead, outcomes()
    assert all(h == [*["failed"] * MAX_ATTEMPTS, "dead"] for h in outcomes())
    if receiver == "slow":
        assert hits == Counter(dict.fromkeys(dispatch_ids, MAX_ATTEMPTS))
    print(f"\nFIGURES webhook-{receiver}: requests={len(load.answers)} slowest={load.slowest():.2f}s "
          f"dispatches-dead={len(dispatch_ids)} attempts-each={MAX_ATTEMPTS} "
          f"receiver-hits={sum(hits.values())} until-all-dead={time.monotonic() - started:.1f}s")
