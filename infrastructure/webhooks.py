"""Webhooks signed per Standard Webhooks, refused for private addresses unless allowed."""

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver
from multidict import CIMultiDict

from application.ports import Delivery, Reply, WebhookRefused
from domain.actions import signing_key
from domain.dispatch import RESPONSE_BODY_KEPT


class WebhookFailed(Exception):
    pass


# Never a webhook target, whatever the Python version's ipaddress flags say (3.11 calls several of
# these global): IANA's special-purpose registries, plus the deprecated site-local range.
DENIED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "3fff::/20", "5f00::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))
# IPv6 ranges that carry an IPv4 address: it is the IPv4 address that must be public.
MAPPED = ipaddress.ip_network("::ffff:0:0/96")
COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.ip_network("2002::/16")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip in MAPPED or ip in NAT64 or (ip in COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and (inner := embedded_ipv4(ip)) is not None:
        ip = inner
    if any(ip in network for network in DENIED_NETWORKS if network.version == ip.version):
        return False
    return ip.is_global and not ip.is_multicast


def signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """v1 signature: base64 HMAC-SHA256 of "id.timestamp.body"; whsec_ secrets are base64 keys."""
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


class PublicOnlyResolver(AbstractResolver):
    """Resolves, then refuses any private, loopback, link-local or reserved address.

    Checking at connect time (not only on the URL) also defeats DNS names that point inward.
    """

    def __init__(self):
        self._resolver = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        hosts = await self._resolver.resolve(host, port, family)
        for entry in hosts:
            if not is_public(entry["host"]):
                raise WebhookRefused(f"{host} resolves to a non-public address")
        return hosts

    async def close(self) -> None:
        await self._resolver.close()


class SignedWebhooks:
    def __init__(self, allow_private: bool, per_host: int = 16):
        self.allow_private = allow_private
        self.per_host = per_host
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self.allow_private else PublicOnlyResolver()
            connector = aiohttp.TCPConnector(resolver=resolver, limit=256, limit_per_host=self.per_host,
                                             ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def send(self, delivery: Delivery, timeout: float) -> Reply:
        host = urlsplit(delivery.target).hostname or ""
        if not self.allow_private and _is_literal_private(host):
            raise WebhookRefused(f"{host} is not a public address")
        timestamp = str(int(time.time()))
        headers = CIMultiDict(delivery.headers or {})
        headers.setdefault("Content-Type", "application/json")
        headers["webhook-id"] = delivery.dispatch_id
        headers["webhook-timestamp"] = timestamp
        if delivery.secret:
            headers["webhook-signature"] = "v1," + signature(delivery.secret, delivery.dispatch_id, timestamp,
                                                             delivery.body)
        try:
            async with self._client().request(delivery.method, delivery.target, data=delivery.body, headers=headers,
                                              allow_redirects=False,
                                              timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                kept = await response.content.read(RESPONSE_BODY_KEPT)
                return Reply(response.status, kept.decode("utf-8", errors="replace"))
        except WebhookRefused:
            raise
        except aiohttp.InvalidURL as error:  # aiohttp will never send to it, so no retry can heal it
            raise WebhookRefused(f"the URL cannot be sent to: {error}") from None
        except aiohttp.ClientError as error:
            if isinstance(error.__cause__, WebhookRefused):
                raise error.__cause__ from None
            raise WebhookFailed(f"webhook unreachable: {type(error).__name__}: {error}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _is_literal_private(host: str) -> bool:
    """An address written in the URL (in any of the forms the C library reads, such as 2130706433
    or 127.1 for 127.0.0.1), or localhost, that is not public."""
    try:
        return not is_public(host.strip("[]"))
    except ValueError:
        pass
    try:
        return not is_public(socket.inet_ntoa(socket.inet_aton(host)))
    except OSError:
        return host.lower() in ("localhost",) or host.lower().endswith(".localhost")
