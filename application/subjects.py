"""NATS subjects: the one place that spells them."""

EVENTS = "tripcord.events.>"
ACTIONS = "tripcord.actions.>"


def event_subject(tenant_id: str, event_type: str) -> str:
    return f"tripcord.events.{tenant_id}.{event_type}"


def action_subject(tenant_id: str, action_type: str) -> str:
    return f"tripcord.actions.{tenant_id}.{action_type}"


def tenant_events(tenant_id: str, event_type: str = "*") -> str:
    """A tenant's events, of one type or of all (tenant ids hold no dots or wildcards)."""
    return f"tripcord.events.{tenant_id}.{'>' if event_type == '*' else event_type}"


def all_tenants_events(event_type: str = "*") -> str:
    return f"tripcord.events.*.{'>' if event_type == '*' else event_type}"
