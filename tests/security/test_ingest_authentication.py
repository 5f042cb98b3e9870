"""Who may ingest: every untrusted token is 401, a tenant outside the token 403, a subject-unsafe tenant 400.

The same matrix for the trigger endpoints is in tests/e2e/test_access.py.
"""

import base64
import hashlib
import hmac
import time
import warnings

import jwt
import orjson
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from interfaces.app import create_app
from tests.api import JWT_SECRET, make_settings, token

INGEST = "/api/v1/events/ingest"
EVENT = {"type": "purchase", "customerId": "CUST-1", "data": {"amount": 10}}


def claims(**changes) -> dict:
    now = int(time.time())
    return {k: v for k, v in {"sub": "mallory", "roles": ["admin"], "tenants": ["acme"], "iat": now,
                              "exp": now + 600, **changes}.items() if v is not None}


def forged(header: dict, payload: dict, key: bytes | None) -> str:
    """A token assembled by hand: header, payload and (for a key) an HMAC-SHA256 signature."""
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    signing_input = f"{part(orjson.dumps(header))}.{part(orjson.dumps(payload))}"
    signature = part(hmac.new(key, signing_input.encode(), hashlib.sha256).digest()) if key else ""
    return f"{signing_input}.{signature}"


def hs512(payload: dict) -> str:
    with warnings.catch_warnings():  # the test secret is short for HS512, on purpose
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, JWT_SECRET, algorithm="HS512")


UNTRUSTED = {
    "alg none": lambda: forged({"alg": "none", "typ": "JWT"}, claims(), None),
    "alg None, signed": lambda: forged({"alg": "None", "typ": "JWT"}, claims(), JWT_SECRET.encode()),
    "HS512": lambda: hs512(claims()),
    "RS256 header, HMAC signature": lambda: forged({"alg": "RS256", "typ": "JWT"}, claims(), JWT_SECRET.encode()),
    "wrong secret": lambda: jwt.encode(claims(), "another-secret-" + "y" * 32, algorithm="HS256"),
    "expired": lambda: jwt.encode(claims(exp=int(time.time()) - 5), JWT_SECRET, algorithm="HS256"),
    "no sub": lambda: jwt.encode(claims(sub=None), JWT_SECRET, algorithm="HS256"),
    "no exp": lambda: jwt.encode(claims(exp=None), JWT_SECRET, algorithm="HS256"),
    "tampered payload": lambda: _tampered(),
}


def _tampered() -> str:
    header, _, signature = jwt.encode(claims(tenants=["other"]), JWT_SECRET, algorithm="HS256").split(".")
    payload = base64.urlsafe_b64encode(orjson.dumps(claims())).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/tripcord.db")))


async def post(client, tenant: str, bearer: str):
    response = await client.post(INGEST, json=EVENT, headers={"Authorization": f"Bearer {bearer}",
                                                               "X-Tenant-Id": tenant})
    return response.status, await response.json()


@pytest.mark.parametrize("kind", UNTRUSTED)
async def test_an_untrusted_token_cannot_ingest(client, kind):
    status, body = await post(client, "acme", UNTRUSTED[kind]())
    assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_a_trusted_token_for_the_tenant_ingests(client):
    status, body = await post(client, "acme", jwt.encode(claims(), JWT_SECRET, algorithm="HS256"))
    assert status == 200 and body["ingested"] is True


async def test_a_tenant_outside_the_token_is_forbidden(client):
    status, body = await post(client, "globex", jwt.encode(claims(), JWT_SECRET, algorithm="HS256"))
    assert (status, body["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize("tenant", ["a.b", "a*", "a>", "a b", "tén", "租户", "a" * 65, "", "a.>", "a/b"])
async def test_a_tenant_id_that_could_reach_into_nats_subjects_is_refused(client, tenant):
    status, body = await post(client, tenant, token(("*",)))
    assert (status, body["error"]["code"]) == (400, "invalid_tenant")
