"""Micro-benchmark of trigger evaluation: what the ingest planner does per event, without any I/O.

    python -m bench.evaluation [--events 2000] [--runs 15] [--scenario a b c d e]

Per event, as Planner.plan does: build the envelope, then index.matching(tenant, trigger event
types, data, envelope), which narrows the candidates (application/condition_index.py) and runs
what is left. Scenarios:
  a  100 triggers in the tenant, every event type (bench/triggers.py)
  b  10,000 triggers in the tenant: those 100 plus 9,900 on 200 custom types (custom.t000 ...),
     so a purchase meets the same candidates as in (a) while the tenant holds 100x more rules
  c  10,000 triggers, ALL on purchase: the other side, where cost follows the candidates
  d  (a)'s 100 triggers with condition sharing off: what every candidate costs when no two
     triggers hold an equal condition (the index runs each distinct condition once per event)
  e  10,000 DIFFERENT conditions, all on purchase: equalities and `in` lists on a product and a
     page, amount thresholds under `all` with the channel, amount ranges, and 5 % that no index
     narrows (a prefix test); the condition index narrows the rest before they run
Each event is timed alone with perf_counter_ns (timer overhead subtracted) after a warm-up pass;
the figures are the median and p99 over every run's samples per event type, and for the mix of
all five types (as bench/ingest.lua sends them, in turn) the mean of the per-type medians.
"""

import argparse
import gc
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from application.trigger_index import TriggerIndex  # noqa: E402
from domain.conditions import Condition  # noqa: E402
from bench.triggers import ACTIONS, CONDITIONS, bench_triggers  # noqa: E402
from domain.customer_events import INGEST_TYPES, trigger_event_types  # noqa: E402
from tests.unit.fakes import PlainTemplates  # noqa: E402

TENANT = "bench"
CUSTOM_TYPES = [f"custom.t{n:03d}" for n in range(200)]
CREATED = datetime(2026, 1, 1, tzinfo=timezone.utc)
TARGETS_US = {"a": 30.0, "b": 100.0, "e": 1000.0}
WARM_UP = 500
WARM_UP_NS = 2_000_000_000
MIN_SAMPLES = 300


def row(n: int, trigger: dict, position: int) -> dict:
    """A listing row as SqlStorage.listing_changes returns it."""
    return {
        "tenant_id": TENANT, "trigger_id": f"tr_{n:06d}", "name": trigger["name"], "description": "",
        "version": 1, "event_type": trigger["eventType"], "action_type": trigger["actionType"],
        "action_config": trigger["actionConfig"], "condition": trigger["condition"],
        "priority": trigger["priority"], "cooldown_ms": trigger["cooldownMs"], "status": "active",
        "deleted": False, "created_at": CREATED.replace(microsecond=n % 1_000_000), "position": position,
    }


def spread_triggers(total: int) -> list[dict]:
    """bench/triggers.py's 100, then the same mix of conditions on custom types."""
    triggers = bench_triggers()
    for n in range(total - len(triggers)):
        action_type, config = ACTIONS[n % len(ACTIONS)]
        triggers.append({"name": f"custom-{n:05d}", "eventType": CUSTOM_TYPES[n % len(CUSTOM_TYPES)],
                         "actionType": action_type, "actionConfig": config,
                         "condition": CONDITIONS[n % len(CONDITIONS)], "priority": n % 10 * 10,
                         "cooldownMs": 0})
    return triggers


def purchase_triggers(total: int) -> list[dict]:
    return [{**trigger, "name": f"purchase-{n:05d}", "eventType": "purchase"}
            for n, trigger in enumerate(spread_triggers(total))]


def distinct_conditions(total: int) -> list[dict]:
    """`total` triggers on purchase, no two conditions alike, a few firing per event (see scenario e)."""
    triggers = []
    for n in range(total):
        kind = n % 20
        if kind < 8:
            condition = {"field": "sku", "operator": "equals", "value": f"SKU-{n}"}
        elif kind < 12:
            condition = {"field": "url", "operator": "in", "value": [f"/p/{n}", f"/p/{n + 1}"]}
        elif kind < 16:
            condition = {"all": [{"field": "$channel", "operator": "equals", "value": "pos"},
                                 {"field": "amount", "operator": "greater_than", "value": 990 + n / 1000}]}
        elif kind < 19:
            low = (n * 7) % 1000 + n / 100_000
            condition = {"field": "amount", "operator": "between", "value": [low, low + 0.05]}
        else:
            condition = {"field": "url", "operator": "starts_with", "value": f"/q/{n}"}
        action_type, config = ACTIONS[n % len(ACTIONS)]
        triggers.append({"name": f"distinct-{n:05d}", "eventType": "purchase", "actionType": action_type,
                         "actionConfig": config, "condition": condition, "priority": n % 10 * 10,
                         "cooldownMs": 0})
    return triggers


class UnsharedIndex(TriggerIndex):
    """Every trigger compiles its own condition, as if no two were equal."""

    def _shared(self, raw):
        return Condition.parse(raw)


SCENARIOS = {
    "a": ("100 triggers, every event type", bench_triggers, TriggerIndex),
    "b": ("10,000 triggers over 7 standard + 200 custom types", lambda: spread_triggers(10_000), TriggerIndex),
    "c": ("10,000 triggers, all on purchase", lambda: purchase_triggers(10_000), TriggerIndex),
    "d": ("100 triggers, every event type, no condition shared", bench_triggers, UnsharedIndex),
    "e": ("10,000 different conditions, all on purchase", lambda: distinct_conditions(10_000), TriggerIndex),
}


def sample_events(ingest_type: str, count: int, rng: random.Random) -> list[dict]:
    """The stream body of events like bench/ingest.lua sends."""
    channels = ("web", "mobile", "pos")
    events = []
    for n in range(count):
        data = {"amount": rng.randint(1, 1000) + rng.randint(0, 99) / 100, "sku": f"SKU-{rng.randint(1, 50)}",
                "cart": {"items": [{"sku": f"A-{rng.randint(1, 9)}"}]}, "url": f"/p/{rng.randint(1, 200)}"}
        events.append({"id": f"evt_{n:012x}", "tenantId": TENANT, "type": ingest_type,
                       "customerId": f"CUST-{rng.randint(1, 5000)}", "channel": channels[n % 3],
                       "timestamp": "2026-01-31T09:30:00.000Z", "receivedAt": "2026-01-31T09:30:00.000Z",
                       "data": data, "triggerEventTypes": list(trigger_event_types(ingest_type))})
    return events


def evaluate(index: TriggerIndex, tenant_id: str, message: dict) -> int:
    """Planner.plan's evaluation, minus cooldowns and recording: how many triggers fire."""
    envelope = {"type": message["type"], "customerId": message["customerId"],
                "channel": message["channel"], "timestamp": message["timestamp"]}
    return len(index.matching(tenant_id, tuple(message["triggerEventTypes"]), message["data"], envelope))


def timer_overhead_ns() -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        start = clock()
        samples.append(clock() - start)
    return int(statistics.median(samples))


def measure(index: TriggerIndex, events: list[dict], runs: int, overhead: int,
            budget_s: float) -> tuple[list[int], float]:
    """Per-event samples, stopping once the time budget is spent (after MIN_SAMPLES at least),
    and how many triggers fired per event in the warm-up pass."""
    clock = time.perf_counter_ns
    fired, warm_until = [], clock() + WARM_UP_NS
    for message in events[:WARM_UP]:  # fills the candidates cache and the CPU caches
        fired.append(evaluate(index, TENANT, message))
        if clock() > warm_until and len(fired) >= 20:
            break
    samples, stop = [], clock() + int(budget_s * 1e9)
    for _ in range(runs):
        for message in events:
            start = clock()
            evaluate(index, TENANT, message)
            end = clock()
            samples.append(max(0, end - start - overhead))
            if end > stop and len(samples) >= MIN_SAMPLES:
                return samples, statistics.mean(fired)
    return samples, statistics.mean(fired)


def percentile(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


CHANGES = 5  # of each kind, after the bulk apply; the median is reported


def build_index(triggers: list[dict], index_class=TriggerIndex) -> tuple[TriggerIndex, float, float, float]:
    """The index, the time to apply every row at once, and what one more change then costs, in the
    median of CHANGES: the last trigger's priority (its condition unchanged), then its condition."""
    index = index_class(PlainTemplates())
    rows = [row(n, trigger, n + 1) for n, trigger in enumerate(triggers)]
    started = time.perf_counter()
    index.apply(rows, len(rows))
    bulk_s = time.perf_counter() - started
    gc.collect()  # the bulk's garbage, not the change's
    last, position, timed = rows[-1], len(rows), {"priority": [], "condition": []}
    for n in range(2 * CHANGES):
        position += 1
        kind = "priority" if n < CHANGES else "condition"
        last = {**last, "version": last["version"] + 1, "position": position}
        if kind == "priority":
            last["priority"] += 1
        else:  # a threshold no other trigger has: a condition new to the index
            last["condition"] = {"field": "amount", "operator": "greater_than", "value": 1_000_000 + n}
        started = time.perf_counter()
        index.apply([last], position)
        timed[kind].append(time.perf_counter() - started)
    return index, bulk_s, statistics.median(timed["priority"]), statistics.median(timed["condition"])


def run_scenario(key: str, events: int, runs: int, overhead: int, budget_s: float) -> dict:
    title, make, index_class = SCENARIOS[key]
    triggers = make()
    index, bulk_s, priority_s, condition_s = build_index(triggers, index_class)
    rng = random.Random(42)
    print(f"\n({key}) {title}: {len(index)} active triggers in tenant {TENANT!r}, "
          f"{len({t['eventType'] for t in triggers})} event types")
    print(f"    index.apply: {len(triggers)} rows in {bulk_s * 1000:.1f} ms; "
          f"then one changed priority in {priority_s * 1000:.2f} ms, one new condition in "
          f"{condition_s * 1000:.2f} ms (medians of {CHANGES})")
    print(f"    {'event type':<14}{'candidates':>11}{'fired/event':>13}{'samples':>9}{'median µs':>12}"
          f"{'p99 µs':>11}{'ns/candidate':>14}")
    per_type, counts, pooled = {}, set(), []
    for ingest_type in INGEST_TYPES:
        sample = sample_events(ingest_type, events, rng)
        candidates = len(index.candidates(TENANT, tuple(trigger_event_types(ingest_type))))
        samples, fired = measure(index, sample, runs, overhead, budget_s)
        median = statistics.median(samples) / 1000
        per_candidate = f"{median * 1000 / candidates:>14.0f}" if candidates else f"{'-':>14}"
        print(f"    {ingest_type:<14}{candidates:>11}{fired:>13.2f}{len(samples):>9}{median:>12.2f}"
              f"{percentile(samples, 0.99) / 1000:>11.2f}{per_candidate}")
        per_type[ingest_type] = (candidates, median)
        counts.add(len(samples))
        pooled += samples
    # ingest.lua sends the five types in turn, so the mix costs the mean of the per-type medians.
    mix = statistics.mean(m for _, m in per_type.values())
    mean_candidates = statistics.mean(c for c, _ in per_type.values())
    p99 = f"{percentile(pooled, 0.99) / 1000:>11.2f}" if len(counts) == 1 else f"{'-':>11}"
    print(f"    {'mix (1/5 each)':<14}{mean_candidates:>11.1f}{'':>13}{len(pooled):>9}{mix:>12.2f}{p99}")
    return {"mix_us": mix, "worst_us": max(m for _, m in per_type.values()), "per_type": per_type}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="distinct sample events per type")
    parser.add_argument("--runs", type=int, default=15, help="timed passes over the samples")
    parser.add_argument("--budget", type=float, default=10.0,
                        help="seconds of timing per event type at most (at least %d samples)" % MIN_SAMPLES)
    parser.add_argument("--scenario", nargs="+", choices=sorted(SCENARIOS), default=sorted(SCENARIOS))
    args = parser.parse_args()

    overhead = timer_overhead_ns()
    print(f"Trigger evaluation micro-benchmark — Python {sys.version.split()[0]}, "
          f"{args.events} events x {args.runs} runs per type, perf_counter_ns overhead {overhead} ns "
          f"(subtracted), GC {'on' if gc.isenabled() else 'off'}")
    results = {key: run_scenario(key, args.events, args.runs, overhead, args.budget) for key in args.scenario}

    ok = True
    print()
    for key, target in TARGETS_US.items():
        if key in results:
            worst = results[key]["worst_us"]
            met = worst <= target
            ok &= met
            print(f"  ({key}) slowest event type {worst:.2f} µs, mix {results[key]['mix_us']:.2f} µs "
                  f"(target ≤ {target:.0f} µs): {'met' if met else 'MISSED'}")
    if "a" in results and "b" in results:
        a, b = results["a"]["per_type"]["purchase"], results["b"]["per_type"]["purchase"]
        print(f"  purchase: {a[0]} candidates with 100 triggers {a[1]:.2f} µs, {b[0]} candidates with "
              f"10,000 triggers {b[1]:.2f} µs — cost follows the candidates, not the tenant's total")
    if "c" in results:
        c = results["c"]["per_type"]
        print(f"  (c) purchase with {c['purchase'][0]} candidates: {c['purchase'][1]:.0f} µs; "
              f"page_view with {c['page_view'][0]} candidates: {c['page_view'][1]:.2f} µs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
