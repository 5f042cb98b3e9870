"""Who may do what: roles × endpoints × tenants, and every way a token or tenant header is refused."""

import time
import warnings

import jwt
import pytest
from jwt.warnings import InsecureKeyLengthWarning

from interfaces.app import create_app
from tests.api import HIGH_VALUE, JWT_SECRET, Caller, make_settings, random_tenant, token

ENDPOINTS = {
    "list": ("GET", "/api/v1/triggers", None, 200),
    "create": ("POST", "/api/v1/triggers", HIGH_VALUE, 201),
    "get": ("GET", "/api/v1/triggers/{id}", None, 200),
    "get version": ("GET", "/api/v1/triggers/{id}?version=1", None, 200),
    "update": ("PUT", "/api/v1/triggers/{id}", {"name": "Changed"}, 200),
    "delete": ("DELETE", "/api/v1/triggers/{id}", None, 204),
    "test": ("POST", "/api/v1/triggers/{id}/test", {"eventPayload": {"amount": 900}}, 200),
    "history": ("GET", "/api/v1/triggers/{id}/history", None, 200),
}
ROLES = {"admin": ("admin",), "editor": ("editor",), "none": ()}


def expected(endpoint: str, role: str, tenant: str) -> int:
    method, path, _, ok = ENDPOINTS[endpoint]
    if role == "none" or (endpoint == "delete" and role == "editor"):
        return 403
    return 404 if tenant == "other" and "{id}" in path else ok


@pytest.fixture
async def client(aiohttp_client, tmp_path):
    return await aiohttp_client(create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/tripcord.db")))


@pytest.fixture
async def mine(client) -> Caller:
    return Caller(client, random_tenant())


@pytest.fixture
async def theirs(client) -> Caller:
    return Caller(client, random_tenant())


async def check_error(response, status: int) -> dict:
    body = await response.json()
    assert response.status == status, (response.status, body)
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def signed(claims: dict, secret: str = JWT_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # HS512 with the HS256 test secret: short on purpose
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(claims, secret, algorithm=algorithm)


def claims(**changes) -> dict:
    base = {"sub": "mallory", "roles": ["admin"], "tenants": ["*"], "exp": int(time.time()) + 600}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


@pytest.mark.parametrize("tenant", ["own", "other"])
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_access_matrix(mine, theirs, endpoint, role, tenant):
    owner = mine if tenant == "own" else theirs
    target = await owner.json("POST", "/api/v1/triggers", json=HIGH_VALUE, expect=201)
    foreign = target if tenant == "other" else await theirs.json("POST", "/api/v1/triggers", json=HIGH_VALUE,
                                                                  expect=201)
    method, path, body, _ = ENDPOINTS[endpoint]

    response = await mine.as_(*ROLES[role]).request(method, path.format(id=target["id"]), json=body)

    status = expected(endpoint, role, tenant)
    if status >= 400:
        await check_error(response, status)
    else:
        assert response.status == status, await response.text()
        assert foreign["id"] not in await response.text()
    assert await theirs.json("GET", f"/api/v1/triggers/{foreign['id']}") == foreign


async def test_each_tenant_lists_only_its_own_triggers(mine, theirs):
    own = await mine.json("POST", "/api/v1/triggers", json=HIGH_VALUE, expect=201)
    await theirs.json("POST", "/api/v1/triggers", json=HIGH_VALUE, expect=201)

    listed = await mine.json("GET", "/api/v1/triggers")

    assert listed["data"] == [own] and listed["pagination"]["total"] == 1


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc",
                                           "Bearer not-a-jwt", "Bearer a.b.c", "bearer"])
async def test_missing_or_malformed_bearer_token(client, authorization):
    headers = {"X-Tenant-Id": "acme"} | ({} if authorization is None else {"Authorization": authorization})

    response = await client.get("/api/v1/triggers", headers=headers)

    await check_error(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("bad_token", [
    signed(claims(exp=int(time.time()) - 60)),
    signed(claims(), secret="another-secret-" + "y" * 32),
    signed(claims(), secret=None, algorithm="none"),
    signed(claims(sub=None)),
    signed(claims(exp=None)),
    signed(claims(sub=42)),
    signed(claims(roles="admin")),
    signed(claims(tenants="acme")),
    signed(claims(), algorithm="HS512"),
    signed(claims())[:-4] + "AAAA",
], ids=["expired", "wrong secret", "alg none", "no sub", "no exp", "sub not a string", "roles not a list",
        "tenants not a list", "other algorithm", "bad signature"])
async def test_untrusted_tokens(client, bad_token):
    response = await client.get("/api/v1/triggers", headers={"Authorization": f"Bearer {bad_token}",
                                                             "X-Tenant-Id": "acme"})

    await check_error(response, 401)


async def test_an_expired_token_says_so(client):
    response = await client.get("/api/v1/triggers", headers={
        "Authorization": f"Bearer {signed(claims(exp=int(time.time()) - 60))}", "X-Tenant-Id": "acme"})

    assert "expired" in (await check_error(response, 401))["message"]


async def test_a_tenant_not_in_the_token_is_forbidden(client):
    headers = {"Authorization": f"Bearer {token(tenants=('acme', 'globex'))}", "X-Tenant-Id": "initech"}

    response = await client.get("/api/v1/triggers", headers=headers)

    await check_error(response, 403)


async def test_a_token_for_every_tenant(client):
    tenant = random_tenant()
    headers = {"Authorization": f"Bearer {token(tenants=('*',), roles=('editor',))}", "X-Tenant-Id": tenant}

    created = await client.post("/api/v1/triggers", json=HIGH_VALUE, headers=headers)
    listed = await client.get("/api/v1/triggers", headers=headers)

    assert created.status == 201 and (await listed.json())["data"] == [await created.json()]


async def test_a_role_the_service_does_not_know_is_forbidden(client):
    headers = {"Authorization": f"Bearer {token(roles=('viewer', 'owner'))}", "X-Tenant-Id": "acme"}

    await check_error(await client.get("/api/v1/triggers", headers=headers), 403)


async def test_missing_tenant_header(client):
    response = await client.get("/api/v1/triggers", headers={"Authorization": f"Bearer {token()}"})

    assert (await check_error(response, 400))["code"] == "missing_tenant"


@pytest.mark.parametrize("tenant", ["", "a.b", "a>b", "*", "a/b", "a b", "..", "t" * 65, "tenant;drop", "%41"])
async def test_tenant_ids_outside_the_pattern(client, tenant):
    headers = {"Authorization": f"Bearer {token(tenants=('*', tenant))}", "X-Tenant-Id": tenant}

    response = await client.get("/api/v1/triggers", headers=headers)

    assert (await check_error(response, 400))["code"] == "invalid_tenant"


@pytest.mark.parametrize("tenant", ["a", "A-b_9", "t" * 64])
async def test_tenant_ids_inside_the_pattern(client, tenant):
    headers = {"Authorization": f"Bearer {token(tenants=(tenant,))}", "X-Tenant-Id": tenant}

    assert (await client.get("/api/v1/triggers", headers=headers)).status == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/api/v1/openapi.json"])
async def test_operations_endpoints_need_no_token(client, path):
    assert (await client.get(path)).status == 200
