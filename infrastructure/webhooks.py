"""Webhooks signed per Standard Webhooks, refused for private addresses unless allowed."""

import base64
import hashlib
import hmac
import ipaddress
import socket
import time
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from aiohttp.resolver import DefaultResolver

from application.ports import OutboxMessage


class WebhookRefused(Exception):
    pass


class WebhookFailed(Exception):
    pass


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """v1 signature: base64 HMAC-SHA256 of "id.timestamp.body"; whsec_ secrets are base64 keys."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


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
    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = None if self.allow_private else PublicOnlyResolver()
            connector = aiohttp.TCPConnector(resolver=resolver, limit=256, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def deliver(self, message: OutboxMessage, timeout: float) -> None:
        url = urlsplit(message.subject)
        if not self.allow_private and _is_literal_private(url.hostname or ""):
            raise WebhookRefused(f"{url.hostname} is not a public address")
        target = message.target or {}
        body = orjson.dumps(message.body)
        timestamp = str(int(time.time()))
        headers = {**target.get("headers", {}), "Content-Type": "application/json",
                   "webhook-id": message.id, "webhook-timestamp": timestamp}
        if target.get("secret"):
            headers["webhook-signature"] = "v1," + signature(target["secret"], message.id, timestamp, body)
        try:
            async with self._client().request(target.get("method", "POST"), message.subject, data=body,
                                              headers=headers, allow_redirects=False,
                                              timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                if not 200 <= response.status < 300:
                    raise WebhookFailed(f"webhook answered HTTP {response.status}")
        except aiohttp.ClientError as error:
            raise WebhookFailed(f"webhook unreachable: {type(error).__name__}: {error}") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _is_literal_private(host: str) -> bool:
    try:
        return not is_public(host.strip("[]"))
    except ValueError:
        return host.lower() in ("localhost",) or host.lower().endswith(".localhost")
