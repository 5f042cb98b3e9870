"""Talking to the app in tests: settings, tokens, a caller per principal and tenant."""

import secrets
from dataclasses import dataclass


from infrastructure.auth import TokenAuthority
from infrastructure.settings import Settings

JWT_SECRET = "test-secret-" + "x" * 32


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


HIGH_VALUE = {
    "name": "High-Value Purchase Trigger",
    "eventType": "purchase",
    "actionType": "enroll_journey",
    "actionConfig": {"journeyId": "journey_001"},
    "condition": {"field": "amount", "operator": "greater_than", "value": 500},
    "priority": 80,
    "cooldownMs": 86400000,
}

