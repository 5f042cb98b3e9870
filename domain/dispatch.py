"""Dispatch: one action a fired trigger owes, and every attempt to deliver it."""

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import keyed_id
from domain.recording import creation, next_event


class Dispatch(Aggregate):
    @staticmethod
    def create_id(tenant_id: str, event_id: str, trigger_id: str):
        return keyed_id(tenant_id, "dispatch", event_id, trigger_id)

    @staticmethod
    def public_id(tenant_id: str, event_id: str, trigger_id: str) -> str:
        return Dispatch.public_id_of(Dispatch.create_id(tenant_id, event_id, trigger_id))

    @staticmethod
    def public_id_of(aggregate_id: UUID) -> str:
        """The id receivers see, as Nats-Msg-Id or webhook-id."""
        return "dsp_" + aggregate_id.hex

    @staticmethod
    def id_of(dispatch_id: str) -> UUID:
        """The aggregate id behind a public dispatch id."""
        return UUID(dispatch_id.removeprefix("dsp_"))

    @classmethod
    def requested(cls, tenant_id: str, event_id: str, trigger_id: str, trigger_version: int,
                  action_type: str) -> "Dispatch.Requested":
        """The event that requesting a dispatch records, without building the aggregate."""
        return creation(cls, cls.Requested, cls.create_id(tenant_id, event_id, trigger_id), tenant_id=tenant_id,
                        event_id=event_id, trigger_id=trigger_id, trigger_version=trigger_version,
                        action_type=action_type)

    @classmethod
    def first_attempt(cls, dispatch_id: str, error: str | None):
        """The outcome of the attempt the ingest request made itself: the dispatch's version 2."""
        if error is None:
            return next_event(cls.Delivered, cls.id_of(dispatch_id), 2, attempt=1)
        return next_event(cls.AttemptFailed, cls.id_of(dispatch_id), 2, attempt=1, error=error)

    @property
    def dispatch_id(self) -> str:
        return self.public_id_of(self.id)

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
