"""The webhook SSRF guard: no request ever reaches a private, loopback or link-local address, nor a redirect.

Only loopback receivers are started here; private non-loopback ranges are checked where the guard refuses
them, with a client that fails the test if asked to send anything.
"""

import asyncio
import ipaddress

import pytest
from aiohttp import web

from application.ports import Delivery
from application.ports import WebhookRefused
from infrastructure.webhooks import PublicOnlyResolver, SignedWebhooks, WebhookFailed, is_public
from interfaces.app import create_app
from interfaces.keys import DISPATCH_LOG
from tests.api import Caller, make_settings, random_tenant
from tests.faults.load import until

INWARD = ["10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.254", "192.168.0.1", "192.168.255.254",
          "127.0.0.1", "127.255.255.254", "::1", "169.254.169.254", "169.254.0.1", "fe80::1", "febf::1",
          "fc00::1", "fd00:ec2::254", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
          "0.0.0.0", "::", "100.64.0.1", "224.0.0.1", "ff02::1",
          # IPv4 inside IPv6, and ranges Python 3.11's ipaddress calls global:
          "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1", "::7f00:1", "::a00:1",
          "fec0::1", "192.0.0.8", "192.0.0.171", "64:ff9b:1::1", "2001::1", "2001:db8::1", "198.18.0.1"]
PYTHON_311_CALLS_PUBLIC = ["64:ff9b::7f00:1", "2002:7f00:1::", "::7f00:1", "fec0::1", "192.0.0.8"]
LITERAL_HOSTS = ["10.0.0.1", "172.16.0.1", "192.168.1.1", "127.0.0.1", "[::1]", "169.254.169.254", "[fe80::1]",
                 "[fc00::1]", "[fd00:ec2::254]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "localhost",
                 "LOCALHOST", "metadata.localhost"]
LOOPBACK_SPELLINGS = ["127.0.0.1", "localhost", "localhost.", "127.1", "2130706433", "0x7f000001", "017700000001",
                      "0", "0.0.0.0", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::1]"]


def webhook(url: str) -> Delivery:
    return Delivery("dsp_ssrf", "webhook", url, b'{"hello": "world"}', {}, "POST", {})


class NoTraffic:
    """Stands in for the HTTP client: any request it is asked to send fails the test."""

    def request(self, method, url, **kwargs):
        raise AssertionError(f"the guard let a request through to {url}")


@pytest.mark.parametrize("address", INWARD)
def test_no_inward_address_counts_as_public(address):
    assert not is_public(address)


def test_the_guard_does_not_take_pythons_word_for_these():
    """The defect the explicit deny list fixes: the standard library calls these global here."""
    fooled = [a for a in PYTHON_311_CALLS_PUBLIC if ipaddress.ip_address(a).is_global]
    assert fooled, "this Python's ipaddress no longer misjudges them; the test still holds the guard to them"
    assert not any(is_public(a) for a in PYTHON_311_CALLS_PUBLIC)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "64:ff9b::5db8:d822",
                                     "2002:5db8:d822::1", "8.8.8.8"])
def test_public_addresses_stay_public_even_inside_ipv6(address):
    assert is_public(address)


@pytest.mark.parametrize("host", LITERAL_HOSTS)
async def test_an_inward_host_in_the_url_is_refused_before_any_connection(host):
    webhooks = SignedWebhooks(allow_private=False)
    webhooks._client = NoTraffic
    with pytest.raises(WebhookRefused):
        await webhooks.send(webhook(f"http://{host}:8080/hook"), timeout=1.0)


class FixedAnswers:
    """A DNS resolver whose answers the test chooses: a public-looking name that points inward."""

    def __init__(self, *addresses: str):
        self.addresses = addresses

    async def resolve(self, host, port=0, family=0):
        return [{"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
                for a in self.addresses]

    async def close(self):
        pass


@pytest.mark.parametrize("answers", [("10.0.0.7",), ("93.184.216.34", "127.0.0.1"), ("fd00::7",),
                                     ("169.254.169.254",)])
async def test_a_name_that_resolves_inward_is_refused_at_connect_time(answers):
    resolver = PublicOnlyResolver()
    resolver._resolver = FixedAnswers(*answers)
    with pytest.raises(WebhookRefused):
        await resolver.resolve("hooks.example.com", 443)


async def test_a_name_that_resolves_outward_only_is_let_through():
    resolver = PublicOnlyResolver()
    resolver._resolver = FixedAnswers("93.184.216.34")
    assert [a["host"] for a in await resolver.resolve("hooks.example.com", 443)] == ["93.184.216.34"]


async def receiver(aiohttp_server, hits: list, answer=lambda request: web.Response()) -> int:
    async def handle(request: web.Request) -> web.StreamResponse:
        hits.append(str(request.rel_url))
        return answer(request)
    app = web.Application()
    app.router.add_route("*", "/{path:.*}", handle)
    return (await aiohttp_server(app, host="127.0.0.1")).port


async def test_no_spelling_of_loopback_reaches_a_loopback_receiver(aiohttp_server):
    hits = []
    port = await receiver(aiohttp_server, hits)
    webhooks = SignedWebhooks(allow_private=False)
    outcomes = {}
    try:
        for host in LOOPBACK_SPELLINGS:
            with pytest.raises((WebhookRefused, WebhookFailed)) as refused:
                await webhooks.send(webhook(f"http://{host}:{port}/hook"), timeout=2.0)
            outcomes[host] = type(refused.value).__name__
    finally:
        await webhooks.close()
    assert hits == [], outcomes


async def start_app(aiohttp_client, tmp_path, **overrides) -> Caller:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/tripcord.db", dispatch_deadline_s=1.0,
                             retry_schedule="0.05", **overrides)
    return Caller(await aiohttp_client(create_app(settings)), random_tenant())


async def fire_webhook(api: Caller, url: str) -> dict:
    await api.json("POST", "/api/v1/triggers", expect=201, json={
        "name": "hook", "eventType": "purchase", "actionType": "webhook", "actionConfig": {"url": url}})
    answer = await api.json("POST", "/api/v1/events/ingest", json={"type": "purchase", "customerId": "c1"})
    assert answer["actionsDispatched"] == [] and len(answer["actionErrors"]) == 1
    return answer["actionErrors"][0]


async def until_dead(api: Caller, dispatch_id: str) -> list[str]:
    """The dispatch's attempts' outcomes and its status, once it is dead."""
    def history() -> list[str]:
        record = api.client.app[DISPATCH_LOG].get(api.tenant, dispatch_id)
        return [] if record is None else [a["outcome"] for a in record.attempts] + [record.state.status]
    await until(lambda: history()[-1:] == ["dead"], timeout=10)
    return history()


async def test_an_ingest_never_reaches_a_loopback_receiver_by_default(aiohttp_client, aiohttp_server, tmp_path):
    hits = []
    port = await receiver(aiohttp_server, hits)
    api = await start_app(aiohttp_client, tmp_path)
    error = await fire_webhook(api, f"http://127.0.0.1:{port}/hook")
    assert "not a public address" in error["error"]
    assert await until_dead(api, error["dispatchId"]) == ["failed", "dead"]  # refused: dead at once, no retry
    assert hits == []


async def test_a_redirect_to_loopback_is_not_followed(aiohttp_client, aiohttp_server, tmp_path):
    second_hits, first_hits = [], []
    second = await receiver(aiohttp_server, second_hits)
    first = await receiver(aiohttp_server, first_hits, lambda request: web.Response(
        status=302, headers={"Location": f"http://127.0.0.1:{second}/internal/admin"}))
    api = await start_app(aiohttp_client, tmp_path, webhook_allow_private=True)
    error = await fire_webhook(api, f"http://127.0.0.1:{first}/hook")
    assert "HTTP 302" in error["error"]
    assert await until_dead(api, error["dispatchId"]) == ["failed", "failed", "dead"]
    await asyncio.sleep(0.2)
    assert (first_hits, second_hits) == (["/hook", "/hook"], [])
