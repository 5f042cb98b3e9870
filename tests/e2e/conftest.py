"""An app per test on each storage backend, with tokens and a random tenant."""

import secrets
from dataclasses import dataclass

import pytest
from aiohttp import web

from infrastructure.auth import TokenAuthority
from infrastructure.settings import Settings
from interfaces.app import create_app
from tests.e2e.receivers import Receiver

JWT_SECRET = "test-secret-" + "x" * 32


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tripcord.db"
    return request.getfixturevalue("postgres_url")


def make_settings(tmp_path, database_url, nats_url="none", **overrides) -> Settings:
    overrides = {"index_poll_s": 0.1, "relay_poll_s": 0.1, "relay_grace_s": 0.5, **overrides}
    return Settings(data_dir=tmp_path / "data", database_url=database_url, nats_url=nats_url,
                    jwt_secret=JWT_SECRET, **overrides)


def token(tenants=("*",), roles=("admin",), sub="tester", ttl=600) -> str:
    return TokenAuthority(JWT_SECRET).mint(sub, list(roles), list(tenants), ttl)


@dataclass
class Caller:
    """An HTTP client acting as one principal for one tenant."""

    client: object
    tenant: str
    roles: tuple = ("admin",)
    sub: str = "tester"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {token((self.tenant,), self.roles, self.sub)}",
                "X-Tenant-Id": self.tenant}

    def as_(self, *roles: str, tenant: str | None = None) -> "Caller":
        return Caller(self.client, tenant or self.tenant, roles, self.sub)

    async def request(self, method: str, path: str, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, expect: int = 200, **kwargs):
        response = await self.request(method, path, **kwargs)
        body = await response.json() if response.status != 204 else None
        assert response.status == expect, (response.status, body)
        return body


def random_tenant() -> str:
    return "t_" + secrets.token_hex(6)


@pytest.fixture
async def app_client(aiohttp_client, tmp_path, database_url):
    return await aiohttp_client(create_app(make_settings(tmp_path, database_url)))


@pytest.fixture
async def api(app_client) -> Caller:
    return Caller(app_client, random_tenant())


HIGH_VALUE = {
    "name": "High-Value Purchase Trigger",
    "eventType": "purchase",
    "actionType": "enroll_journey",
    "actionConfig": {"journeyId": "journey_001"},
    "condition": {"field": "amount", "operator": "greater_than", "value": 500},
    "priority": 80,
    "cooldownMs": 86400000,
}


@pytest.fixture
def receive(aiohttp_server):
    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_route("*", "/hook", receiver.handle)
        server = await aiohttp_server(app, host="127.0.0.1")
        return str(server.make_url("/hook"))
    return start


