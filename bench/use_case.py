"""The ingest use case's own CPU cost per event: Ingestion.ingest and ingest_batch with their I/O faked.

    python -m bench.use_case [--events 5000] [--triggers 100] [--batch 100]

Planning (evaluation, cooldowns, ids, deliveries), the unit of work and the result, exactly as a
request runs them, but with a commit and a stream that return at once: what is left of a
request's time once the HTTP stack, PostgreSQL and JetStream are taken away.
"""

import argparse
import asyncio
import random
import time
from datetime import datetime, timezone

from application.allowances import Allowances
from application.cooldowns import Cooldowns
from application.deliveries import Sender
from application.ingestion import IngestPolicy, Ingestion
from application.planner import Planner
from application.tenant_settings import TenantSettings
from application.trigger_index import TriggerIndex
from bench.triggers import bench_triggers
from tests.unit.fakes import AcknowledgingStream, Observer, PlainTemplates, inline

TYPES = ["purchase", "cart_abandon", "page_view", "app_open", "support_call"]


class InstantCommit:
    async def __call__(self, unit):
        pass

    def later(self, unit):
        pass

    async def many(self, units):
        return [None] * len(units)

    async def drain(self):
        pass


def index_of(count: int) -> TriggerIndex:
    now = datetime.now(timezone.utc)
    rows = [{"tenant_id": "bench", "trigger_id": f"tr_{n:05d}", "name": t["name"], "version": 1,
             "event_type": t["eventType"], "action_type": t["actionType"], "action_config": t["actionConfig"],
             "condition": t["condition"], "priority": t["priority"], "cooldown_ms": t["cooldownMs"],
             "created_at": now, "status": "active", "deleted": False, "position": n + 1}
            for n, t in enumerate(bench_triggers(count))]
    index = TriggerIndex(PlainTemplates())
    index.apply(rows, len(rows))
    return index


def event(n: int) -> dict:  # the same shape and spread as bench/ingest.lua
    return {"type": TYPES[n % 5], "customerId": f"CUST-{random.randint(1, 5000)}", "channel": "web",
            "timestamp": None,
            "data": {"amount": random.randint(1, 1000) + random.randint(0, 99) / 100,
                     "sku": f"SKU-{random.randint(1, 50)}", "cart": {"items": [{"sku": f"A-{random.randint(1, 9)}"}]},
                     "url": f"/p/{random.randint(1, 200)}"}}


def ingestion_over(triggers: int) -> Ingestion:
    planner = Planner(index_of(triggers), Cooldowns(), Allowances())
    return Ingestion(planner, InstantCommit(), Sender(AcknowledgingStream(), webhooks=None), heads=None, repeats=None,
                     blocking=inline, observer=Observer(), settings=TenantSettings(compiler=None),
                     policy=IngestPolicy())


async def measure(events: int, triggers: int, batch: int) -> None:
    random.seed(1)  # the same events every run: builds compare, under callgrind to the instruction
    ingestion = ingestion_over(triggers)
    for n in range(min(1000, events)):  # warm-up
        await ingestion.ingest("bench", event(n))
    samples = [event(n) for n in range(events)]  # made before the clock starts: random draws are not the use case
    fired = 0
    started = time.perf_counter()
    for sample in samples:
        fired += len((await ingestion.ingest("bench", sample)).matched)
    elapsed = time.perf_counter() - started
    print(f"Ingestion.ingest, I/O faked, {triggers} triggers: {elapsed / events * 1e6:.0f} µs per event "
          f"({fired / events:.2f} fires per event, {events} events)")

    batches = max(1, events // batch)
    bodies = [[event(b * batch + n) for n in range(batch)] for b in range(batches)]
    started = time.perf_counter()
    for body in bodies:
        await ingestion.ingest_batch("bench", body)
    elapsed = time.perf_counter() - started
    print(f"Ingestion.ingest_batch, I/O faked, {triggers} triggers, batches of {batch}: "
          f"{elapsed / (batches * batch) * 1e6:.0f} µs per event ({batches * batch} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--triggers", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(measure(args.events, args.triggers, args.batch))


if __name__ == "__main__":
    main()
