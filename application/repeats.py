"""Repeated keys (an Idempotency-Key, or a batch event's messageId): the first answer, or why there is none yet."""

import time

from application.deliveries import Undeliverable
from application.ingest_results import Dispatched, DispatchFailed, IngestResult, Matched
from application.ports import Blocking, Commit, DispatchLog, EventLog, Idempotency
from application.rebuilds import Rebuilds
from application.records import KeyAnswer, UnitOfWork
from domain.customer_events import FIRED
from domain.dispatch import DELIVERED, dispatch_id
from domain.idempotency import KeyClaim


class RequestInProgress(Exception):
    """The key's first request may still answer."""

    def __init__(self, retry_after_s: int):
        super().__init__(f"a request with this key is still in progress; retry in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class KeyReused(Exception):
    """The key came with another body."""


class Repeats:
    def __init__(self, idempotency: Idempotency, event_log: EventLog, dispatch_log: DispatchLog, rebuilds: Rebuilds,
                 commit: Commit, blocking: Blocking):
        self.idempotency = idempotency
        self.event_log = event_log
        self.dispatch_log = dispatch_log
        self.rebuilds = rebuilds
        self.commit = commit
        self.blocking = blocking

    async def answer(self, claim: KeyClaim) -> IngestResult | None:
        """The answer a repeated key gets; None when the key was not what clashed. Raises KeyReused when
        the key came with another body, RequestInProgress while its first request may still answer."""
        record = await self.blocking(self.idempotency.find, claim.tenant_id, claim.scope, claim.key)
        now_ms = int(time.time() * 1000)
        if record is None or record.expired(now_ms):
            return None
        if record.claim.fingerprint != claim.fingerprint:
            raise KeyReused(claim.key)
        if record.response is not None:
            return IngestResult.from_record(record.response)
        if record.leased(now_ms):
            raise RequestInProgress(max(1, -(-(record.claim.lease_until_ms - now_ms) // 1000)))
        # Its first request died unanswered, or its answer was lost: the event was recorded with the
        # key, so answer from what the event log and the dispatch records say now.
        result = await self.blocking(self.recorded_result, claim.tenant_id, record.claim.event_id)
        self.commit.later(UnitOfWork(answers=[KeyAnswer(claim.tenant_id, claim.scope, claim.key,
                                                        result.as_record())]))
        return result

    def recorded_result(self, tenant_id: str, event_id: str) -> IngestResult:
        """Blocking: an event's ingest answer as the records tell it."""
        entry = self.event_log.find(tenant_id, event_id)
        logged = entry.event
        result = IngestResult(event_id, logged.type, logged.customer_id, entry.stream_sequence)
        for outcome in logged.outcomes:
            if outcome.outcome != FIRED:
                continue
            result.matched.append(Matched(outcome.trigger_id, outcome.action_type))
            fired = dispatch_id(event_id, outcome.trigger_id)
            record = self.dispatch_log.get(tenant_id, fired)
            if record is not None and record.state.status == DELIVERED:
                try:
                    config = self.rebuilds.delivery(tenant_id, event_id, outcome.trigger_id, outcome.trigger_version,
                                                    fired).config
                except Undeliverable:
                    config = {}
                result.dispatched.append(Dispatched(outcome.trigger_id, outcome.action_type, fired, config))
            else:
                error = record.state.last_error if record is not None else None
                result.failed.append(DispatchFailed(outcome.trigger_id, outcome.action_type, fired,
                                                    error or "not delivered yet; the relay retries it"))
        return result
