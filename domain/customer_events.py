"""Customer events: the five ingest types, their internal trigger types, and what a trigger did with one."""

import re

INGEST_TYPES = ("purchase", "cart_abandon", "page_view", "app_open", "support_call")

# A purchase is also an outcome; cart abandonment and support calls change what we know of a customer.
INTERNAL_TYPES: dict[str, tuple[str, ...]] = {
    "purchase": ("outcome.recorded",),
    "cart_abandon": ("customer.updated",),
    "support_call": ("customer.updated",),
}

TRIGGER_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# What a matching trigger did with an event: it fired, or something held it back, or it was paused
# (then it is only recorded: a paused trigger decides nothing and is counted in no stats).
FIRED, COOLDOWN, FREQUENCY_CAPPED, PAUSED = "fired", "cooldown", "frequency_capped", "paused_since"
SUPPRESSIONS = (COOLDOWN, FREQUENCY_CAPPED)
OUTCOMES = (FIRED, *SUPPRESSIONS, PAUSED)


def trigger_event_types(ingest_type: str) -> tuple[str, ...]:
    """The trigger event types an ingested event is evaluated against, its own type first."""
    return (ingest_type, *INTERNAL_TYPES.get(ingest_type, ()))
