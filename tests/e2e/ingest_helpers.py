"""Helpers for the ingestion tests: apps on a real NATS, stream probes, bounded waits."""

import asyncio
import inspect
import time

import nats
from nats.js.errors import NotFoundError
from sqlalchemy import select

from infrastructure.sql.tables import dispatches, event_log, stream_acks
from infrastructure.stream import ACTIONS_STREAM, EVENTS_STREAM
from interfaces.app import create_app
from interfaces.keys import DATABASE
from tests.api import Caller, make_settings, random_tenant

INGEST = "/api/v1/events/ingest"
TRIGGERS = "/api/v1/triggers"


async def eventually(check, timeout: float = 10.0, interval: float = 0.05, message: str = "condition"):
    """Polls `check` (sync or async) until it returns something truthy; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not reached within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


async def start_api(aiohttp_client, tmp_path, database_url, nats_url="none", tenant=None, **overrides) -> Caller:
    """An app on `database_url`, its stream connected when one is configured."""
    overrides.setdefault("webhook_allow_private", True)
    client = await aiohttp_client(create_app(make_settings(tmp_path, database_url, nats_url=nats_url, **overrides)))
    if nats_url != "none":
        await wait_ready(client)
    return Caller(client, tenant or random_tenant())


async def wait_ready(client, timeout: float = 10.0) -> None:
    async def ready():
        response = await client.get("/readyz")
        await response.read()
        return response.status == 200
    await eventually(ready, timeout, message="readiness")


async def ingest(api: Caller, type_: str = "purchase", customer: str = "CUST-001", expect: int = 200,
                 headers: dict | None = None, **fields) -> dict:
    return await api.json("POST", INGEST, expect=expect, headers=headers or {},
                          json={"type": type_, "customerId": customer, **fields})


async def create_trigger(api: Caller, **fields) -> dict:
    body = {"name": "rule", "eventType": "purchase", "actionType": "recommend",
            "actionConfig": {"decisionFlowId": "df_1"}, **fields}
    return await api.json("POST", TRIGGERS, json=body, expect=201)


def unstreamed_ids(api: Caller) -> set[str]:
    """The tenant's logged events the stream has not acknowledged yet."""
    with api.client.app[DATABASE].reading() as connection:
        return set(connection.execute(
            select(event_log.c.event_id).select_from(event_log.outerjoin(
                stream_acks, stream_acks.c.event_id == event_log.c.event_id))
            .where(event_log.c.tenant_id == api.tenant, stream_acks.c.sequence.is_(None))).scalars())


def dispatch_statuses(api: Caller) -> dict[str, str]:
    """dispatch id → status, for every dispatch of the tenant that has a record."""
    with api.client.app[DATABASE].reading() as connection:
        return dict(connection.execute(select(dispatches.c.id, dispatches.c.status)
                                       .where(dispatches.c.tenant_id == api.tenant)).all())


def matched_ids(response: dict) -> list[str]:
    return [m["triggerId"] for m in response["triggersMatched"]]


class StreamProbe:
    """An independent JetStream client that reads what the streams hold."""

    def __init__(self, url: str | list[str]):  # a list: any node of a cluster
        self.url = url
        self.nc = None
        self.js = None

    async def __aenter__(self) -> "StreamProbe":
        self.nc = await nats.connect(self.url, connect_timeout=2, max_reconnect_attempts=2,
                                     reconnect_time_wait=0.2, allow_reconnect=True)
        self.js = self.nc.jetstream(timeout=5)
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.nc.close()

    async def messages(self, subject: str, stream: str | None = None) -> list:
        """Every message the stream holds on `subject` (wildcards allowed), oldest first."""
        stream = stream or (EVENTS_STREAM if subject.startswith("tripcord.events.") else ACTIONS_STREAM)
        try:
            info = await self.js.stream_info(stream, subjects_filter=subject)
        except NotFoundError:
            return []
        expected = sum((info.state.subjects or {}).values())
        if expected == 0:
            return []
        subscription = await self.js.subscribe(subject, stream=stream, ordered_consumer=True,
                                               deliver_policy="all")
        try:
            return [await subscription.next_msg(timeout=5) for _ in range(expected)]
        finally:
            await subscription.unsubscribe()

    async def ids(self, subject: str, stream: str | None = None) -> list[str]:
        return [(m.headers or {}).get("Nats-Msg-Id") for m in await self.messages(subject, stream)]
