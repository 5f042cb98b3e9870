"""Bounded concurrent ingest load, and readers of what the store and the streams hold afterwards."""

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from sqlalchemy import select

from domain.dispatch import dispatch_id
from infrastructure.sql.database import Database, open_journal
from infrastructure.sql.tables import dispatches, event_log, stream_acks
from tests.e2e.ingest_helpers import StreamProbe

INGEST = "/api/v1/events/ingest"
BIG_SPENDER = {"name": "big spender", "eventType": "purchase", "actionType": "recommend",
               "actionConfig": {"decisionFlowId": "df_1"},
               "condition": {"field": "amount", "operator": "greater_than", "value": 500}}


@dataclass
class Answer:
    customer: str
    status: int | None  # None: no answer at all (connection lost, or no reply within the timeout)
    body: dict | None
    seconds: float
    at: float = 0.0  # time.monotonic() when the answer came

    @property
    def event_id(self) -> str | None:
        return (self.body or {}).get("eventId") if self.status == 200 else None


@dataclass
class IngestLoad:
    """`total` ingests by `concurrency` workers, one customer per request, so each can be traced in the store.

    Bounded in count and in time: it stops after `total` requests or `max_seconds`, whichever comes first.
    """

    client: object  # an aiohttp ClientSession (with base_url) or a pytest-aiohttp TestClient
    headers: dict
    total: int
    concurrency: int
    pause_s: float = 0.0
    timeout_s: float = 5.0
    max_seconds: float = 60.0
    customer_prefix: str = "cust"
    answers: list[Answer] = field(default_factory=list)

    def __post_init__(self):
        self._numbers = itertools.count()
        self._progress = asyncio.Condition()
        self._stopped = False

    def stop(self) -> None:
        """Workers finish the request they are sending, then stop."""
        self._stopped = True

    async def run(self) -> list[Answer]:
        deadline = time.monotonic() + self.max_seconds
        await asyncio.gather(*(self._worker(deadline) for _ in range(self.concurrency)))
        return self.answers

    async def answered(self, count: int, timeout: float = 30.0) -> None:
        """Waits until `count` requests have been answered, whatever the answer."""
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(lambda: len(self.answers) >= count), timeout)

    async def _worker(self, deadline: float) -> None:
        while not self._stopped and time.monotonic() < deadline and (n := next(self._numbers)) < self.total:
            self.answers.append(await self._ingest(f"{self.customer_prefix}-{n:05d}"))
            async with self._progress:
                self._progress.notify_all()
            if self.pause_s:
                await asyncio.sleep(self.pause_s)

    async def _ingest(self, customer: str) -> Answer:
        started = time.monotonic()
        body = {"type": "purchase", "customerId": customer, "data": {"amount": 600}}
        try:
            async with asyncio.timeout(self.timeout_s):
                response = await self.client.post(INGEST, json=body, headers=self.headers)
                payload = await response.json(content_type=None)
            return Answer(customer, response.status, payload, time.monotonic() - started, time.monotonic())
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError):
            return Answer(customer, None, None, time.monotonic() - started, time.monotonic())

    def statuses(self) -> Counter:
        return Counter(a.status for a in self.answers)

    def acknowledged(self) -> dict[str, str]:
        """customerId → eventId of every request answered 200."""
        return {a.customer: a.event_id for a in self.answers if a.status == 200}

    def slowest(self) -> float:
        return max((a.seconds for a in self.answers), default=0.0)


@dataclass
class StoredEvents:
    """What the event log and the dispatch records hold for one tenant, read with a connection of its own."""

    events: dict[str, str]  # eventId → customerId
    fired: set[str]  # the dispatch ids the event log says are owed
    dispatches: dict[str, str]  # dispatchId → status, for those with a record
    unstreamed: set[str]  # events the stream has not acknowledged

    @property
    def owed(self) -> set[str]:
        """Every event still to stream and every dispatch not yet delivered or dead."""
        unsettled = {d for d in self.fired if self.dispatches.get(d, "pending") in ("pending", "retrying")}
        return self.unstreamed | unsettled

    @classmethod
    def read(cls, sqlalchemy_url: str, tenant: str) -> "StoredEvents":
        journal = open_journal(sqlalchemy_url)
        try:
            with Database(journal).reading() as connection:
                rows = connection.execute(
                    select(event_log.c.event_id, event_log.c.customer_id, event_log.c.outcomes, stream_acks.c.sequence)
                    .select_from(event_log.outerjoin(stream_acks, stream_acks.c.event_id == event_log.c.event_id))
                    .where(event_log.c.tenant_id == tenant)).all()
                statuses = dict(connection.execute(select(dispatches.c.id, dispatches.c.status)
                                                   .where(dispatches.c.tenant_id == tenant)).all())
        finally:
            journal.close()
        fired = {dispatch_id(event_id, trigger_id) for event_id, _, outcomes, _ in rows
                 for trigger_id, _, _, outcome in outcomes if outcome == "fired"}
        return cls({e: c for e, c, _, _ in rows}, fired, statuses, {e for e, _, _, seq in rows if seq is None})


async def stream_ids(nats_url: str | list[str], subject: str, stream: str) -> list[str]:
    """Every Nats-Msg-Id the stream holds on `subject`, duplicates included."""
    async with StreamProbe(nats_url) as probe:
        return await probe.ids(subject, stream)


async def until(check, timeout: float, interval: float = 0.1):
    """Polls `check` (sync or async) until it returns something truthy; returns the last value either way."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval)
