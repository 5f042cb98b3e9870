"""Dispatch: one action a fired trigger owes, and every attempt to deliver it."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id


class Dispatch(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, event_id: str, trigger_id: str):
        return keyed_id(tenant_id, "dispatch", event_id, trigger_id)

    @staticmethod
    def public_id(tenant_id: str, event_id: str, trigger_id: str) -> str:
        return "dsp_" + Dispatch.create_id(tenant_id, event_id, trigger_id).hex

    @staticmethod
    def id_of(dispatch_id: str) -> UUID:
        """The aggregate id behind a public dispatch id."""
        return UUID(dispatch_id.removeprefix("dsp_"))

    @property
    def dispatch_id(self) -> str:
        """The id receivers see, as Nats-Msg-Id or webhook-id."""
        return "dsp_" + self.id.hex

    @event("Requested")
    def __init__(self, tenant_id: str, event_id: str, trigger_id: str, trigger_version: int, action_type: str):
        self.tenant_id = tenant_id
        self.event_id = event_id
        self.trigger_id = trigger_id
        self.trigger_version = trigger_version
        self.action_type = action_type
        self.outcome = "pending"
        self.attempts = 0

    @event("Delivered")
    def deliver(self, attempt: int) -> None:
        self.attempts = attempt
        self.outcome = "delivered"

    @event("AttemptFailed")
    def fail(self, attempt: int, error: str) -> None:
        self.attempts = attempt

    @event("DeclaredDead")
    def declare_dead(self, attempt: int, error: str) -> None:
        self.attempts = attempt
        self.outcome = "dead"
