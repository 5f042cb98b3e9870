"""Dry runs: would a trigger fire for a sample event, and what would it send? Records and consumes nothing."""

import time
from dataclasses import dataclass
from typing import Callable

from eventsourcing.application import AggregateNotFoundError

from application.deliveries import Undeliverable, build_delivery
from application.journal import Journal
from application.planner import stream_body
from application.ports import Templates
from application.trigger_index import trigger_spec
from application.triggers import Triggers
from domain.conditions import Condition, LeafTrace
from domain.cooldown import CustomerCooldown
from domain.customer_events import COOLDOWN, FREQUENCY_CAPPED, trigger_event_types
from domain.frequency_caps import CustomerAllowance, FrequencyCap


@dataclass(frozen=True)
class DryRun:
    would_fire: bool
    reason: str
    trace: list[LeafTrace]
    config: dict | None  # the rendered config as users see it; None when it does not render
    render_error: str | None = None
    held_by: str | None = None  # cooldown or frequency_capped, for the sample's customer


class DryRuns:
    def __init__(self, journal: Journal, triggers: Triggers, templates: Templates,
                 caps: Callable[[str], tuple[FrequencyCap, ...]]):
        self.journal = journal
        self.triggers = triggers
        self.templates = templates
        self.caps = caps

    def test(self, tenant_id: str, trigger_id: str, event: dict) -> DryRun:
        """Blocking. `event` has type, customerId, channel, timestamp (each may be empty) and data."""
        state = self.triggers.get(tenant_id, trigger_id)
        now_ms = int(time.time() * 1000)
        explanation = Condition.parse(state["condition"]).explain(event["data"], event)
        config, render_error = self._rendered(state, event, now_ms)
        if state["status"] != "active":
            return DryRun(False, "Trigger is paused", explanation.trace, config, render_error)
        if event.get("type") and state["event_type"] not in trigger_event_types(event["type"]):
            return DryRun(False, f"Trigger listens to {state['event_type']}, not {event['type']}",
                          explanation.trace, config, render_error)
        if not explanation.matched:
            return DryRun(False, explanation.reason, explanation.trace, config, render_error)
        held = self._held(state, event.get("customerId") or "", now_ms)
        if held is not None:
            return DryRun(False, held[1], explanation.trace, config, render_error, held[0])
        return DryRun(True, explanation.reason, explanation.trace, config, render_error)

    def _rendered(self, state: dict, event: dict, now_ms: int) -> tuple[dict | None, str | None]:
        message = stream_body(state["tenant_id"], "evt_dry_run", {**event, "type": event.get("type") or
                                                                   state["event_type"]}, now_ms)
        try:
            return build_delivery(trigger_spec(self.templates, state), message, "dsp_dry_run").config, None
        except Undeliverable as reason:
            return None, str(reason)

    def _held(self, state: dict, customer_id: str, now_ms: int) -> tuple[str, str] | None:
        """What would hold the trigger back for this customer now: its cooldown, or a frequency cap."""
        if not customer_id:
            return None
        tenant_id = state["tenant_id"]
        if state["cooldown_ms"]:
            cooldown = self._aggregate(CustomerCooldown.create_id(tenant_id, state["trigger_id"], customer_id))
            fired = cooldown.fired_at_ms if cooldown else None
            if not CustomerCooldown.window_open(fired, state["cooldown_ms"], now_ms):
                return COOLDOWN, f"Cooling down for {customer_id} for another {fired + state['cooldown_ms'] - now_ms} ms"
        if state["ignore_frequency_caps"]:
            return None
        for cap in self.caps(tenant_id):
            if not cap.applies_to(state["action_type"]):
                continue
            allowance = self._aggregate(CustomerAllowance.create_id(tenant_id, customer_id, cap.cap_id))
            if allowance and not CustomerAllowance.allows(allowance.recent, cap.limit, cap.period_ms, now_ms):
                return FREQUENCY_CAPPED, (f"Frequency cap reached for {customer_id}: {cap.limit} per "
                                          f"{cap.period_ms} ms")
        return None

    def _aggregate(self, aggregate_id):
        try:
            return self.journal.reload(aggregate_id)  # from its latest snapshot
        except AggregateNotFoundError:
            return None
