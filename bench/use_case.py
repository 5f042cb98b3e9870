"""The ingest use case's own CPU cost per event: Ingestion.ingest with its I/O faked.

    python bench/use_case.py [--events 5000] [--triggers 100]

Evaluation, aggregates, ids, outbox messages and the response, exactly as a request runs them,
but with a commit and a stream that return at once: what is left of a request's time once the
HTTP stack, the database and JetStream are taken away.
"""

import argparse
import asyncio
import random
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from application.cooldowns import Cooldowns  # noqa: E402
from application.delivery import Deliveries  # noqa: E402
from application.ingestion import IngestPolicy, Ingestion  # noqa: E402
from application.journal import Journal  # noqa: E402
from application.trigger_index import TriggerIndex  # noqa: E402
from bench.triggers import bench_triggers  # noqa: E402

TYPES = ["purchase", "cart_abandon", "page_view", "app_open", "support_call"]


class InstantStream:
    async def publish(self, subject, message_id, body):
        return 1


class Unobserved:
    def __getattr__(self, name):
        return lambda *args: None


async def instant_commit(unit):
    pass


instant_commit.later = lambda unit: None


async def blocking(fn, *args):
    return fn(*args)


def index_of(count: int) -> TriggerIndex:
    now = datetime.now(timezone.utc)
    rows = [{"tenant_id": "bench", "trigger_id": f"tr_{n:05d}", "name": t["name"], "version": 1,
             "event_type": t["eventType"], "action_type": t["actionType"], "action_config": t["actionConfig"],
             "condition": t["condition"], "priority": t["priority"], "cooldown_ms": t["cooldownMs"],
             "created_at": now, "status": "active", "deleted": False, "position": n + 1}
            for n, t in enumerate(bench_triggers(count))]
    index = TriggerIndex()
    index.apply(rows, len(rows))
    return index


def event(n: int) -> dict:  # the same shape and spread as bench/ingest.lua
    return {"type": TYPES[n % 5], "customerId": f"CUST-{random.randint(1, 5000)}", "channel": "web",
            "timestamp": None,
            "data": {"amount": random.randint(1, 1000) + random.randint(0, 99) / 100,
                     "sku": f"SKU-{random.randint(1, 50)}", "cart": {"items": [{"sku": f"A-{random.randint(1, 9)}"}]},
                     "url": f"/p/{random.randint(1, 200)}"}}


async def measure(events: int, triggers: int) -> None:
    ingestion = Ingestion(Journal(), index_of(triggers), Cooldowns(), instant_commit,
                          Deliveries(InstantStream(), None), blocking, Unobserved(), IngestPolicy())
    for n in range(min(1000, events)):  # warm-up
        await ingestion.ingest("bench", event(n))
    fired = 0
    started = time.perf_counter()
    for n in range(events):
        fired += len((await ingestion.ingest("bench", event(n)))["triggersMatched"])
    elapsed = time.perf_counter() - started
    print(f"Ingestion.ingest, I/O faked, {triggers} triggers: {elapsed / events * 1e6:.0f} µs per event "
          f"({fired / events:.2f} fires per event, {events} events)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--triggers", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(measure(args.events, args.triggers))


if __name__ == "__main__":
    main()
