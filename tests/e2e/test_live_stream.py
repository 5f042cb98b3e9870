"""The console's live stream: a short-lived ticket opens one stream of one tenant's events."""

import asyncio

import orjson
import pytest

from tests.e2e.ingest_helpers import ingest, start_api

TICKETS = "/api/v1/stream-tickets"
LIVE = "/api/v1/events/live"


@pytest.fixture
async def live(aiohttp_client, tmp_path, postgres_url, nats_url):
    return await start_api(aiohttp_client, tmp_path, postgres_url, nats_url)


async def next_event(response, timeout: float = 5.0) -> dict:
    """The data of the next `ingested` server-sent event."""
    async def read() -> dict:
        kind = None
        async for line in response.content:
            text = line.decode().rstrip("\r\n")
            if text.startswith("event:"):
                kind = text.partition(":")[2].strip()
            elif text.startswith("data:") and kind == "ingested":
                return orjson.loads(text.partition(":")[2])
        raise AssertionError("the stream ended")
    return await asyncio.wait_for(read(), timeout)


async def open_stream(api, **query):
    ticket = (await api.json("POST", TICKETS, expect=201))["ticket"]
    response = await api.client.get(LIVE, params={"ticket": ticket, **query})
    assert response.status == 200, await response.text()
    assert response.headers["Content-Type"].startswith("text/event-stream")
    return response, ticket


async def test_a_ticket_streams_its_tenant_s_events_only(live):
    other = live.as_("admin", tenant=live.tenant + "x")
    response, _ = await open_stream(live, customerId="mine")
    await asyncio.sleep(0.3)  # the subscription starts at new messages

    await ingest(other, customer="mine", data={"who": "other tenant"})
    await ingest(live, customer="someone-else")
    sent = await ingest(live, customer="mine", data={"who": "me"})

    event = await next_event(response)
    assert (event["id"], event["tenantId"], event["data"]) == (sent["eventId"], live.tenant, {"who": "me"})
    assert event["sequence"] == sent["streamSequence"]
    response.close()


async def test_a_ticket_opens_one_stream_and_nothing_else_opens_one(live):
    response, ticket = await open_stream(live)
    response.close()

    for params in ({"ticket": ticket}, {}, {"ticket": ticket[:-2] + "xx"}):
        refused = await live.client.get(LIVE, params=params)
        assert refused.status == 401, params
        assert (await refused.json())["error"]["code"] == "unauthorized"
    bearer = await live.request("GET", LIVE)  # the long-lived token is not a way in either
    assert bearer.status == 401


async def test_an_ingest_token_gets_no_ticket(live):
    answer = await live.as_("ingest").json("POST", TICKETS, expect=403)
    assert answer["error"]["code"] == "forbidden"
