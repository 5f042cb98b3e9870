"""JWT bearer tokens (HS256): who is calling, with which roles, for which tenants."""

import time
from dataclasses import dataclass

import jwt

ROLES = ("admin", "editor", "ingest")  # ingest may only send events: the token an app embeds
NUMERIC_CLAIMS = ("exp", "iat", "nbf")


class Unauthenticated(Exception):
    """No token, or one we cannot trust."""


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    tenants: frozenset[str]

    def may_access(self, tenant_id: str) -> bool:
        return "*" in self.tenants or tenant_id in self.tenants


class TokenAuthority:
    def __init__(self, secret: str, cache_size: int = 10_000):
        self._secret = secret
        self._cache_size = cache_size
        self._verified: dict[str, tuple[Principal, int]] = {}

    def verify(self, token: str) -> Principal:
        """Checks signature and claims once per token; expiry on every use."""
        known = self._verified.get(token)
        if known is not None:
            principal, expires = known
            if time.time() < expires:
                return principal
            del self._verified[token]
        principal, expires = self._decode(token)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, int]:
        try:
            claims = jwt.decode(token, self._secret, algorithms=["HS256"],
                                options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"invalid token: {error}") from None
        for name in NUMERIC_CLAIMS:  # PyJWT accepts "1796187000" for exp; we do not
            if name in claims and (type(claims[name]) is not int):
                raise Unauthenticated(f"invalid token: {name} must be an integer")
        roles, tenants = claims.get("roles", []), claims.get("tenants", [])
        if not _strings(roles) or not _strings(tenants) or not isinstance(claims["sub"], str):
            raise Unauthenticated("invalid token: sub must be a string, roles and tenants lists of strings")
        return Principal(claims["sub"], frozenset(roles), frozenset(tenants)), claims["exp"]

    def mint(self, subject: str, roles: list[str], tenants: list[str], ttl_s: int) -> str:
        now = int(time.time())
        claims = {"sub": subject, "roles": roles, "tenants": tenants, "iat": now, "exp": now + ttl_s}
        return jwt.encode(claims, self._secret, algorithm="HS256")


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
