"""Real PostgreSQL and NATS for tests (TRIPCORD_TEST_* variables, else throwaway servers; never a skip), and
an app per test on each storage backend, spoken to as one tenant."""

import os

import pytest
from aiohttp import web

from interfaces.app import create_app
from tests.api import Caller, make_settings, random_tenant
from tests.e2e.receivers import Receiver
from tests.servers import NatsServer, ThrowawayPostgres, create_database, drop_database


@pytest.fixture(scope="session")
def postgres_admin_url():
    if url := os.environ.get("TRIPCORD_TEST_POSTGRES_URL"):
        yield url
        return
    with ThrowawayPostgres() as postgres:
        yield postgres.url


def _database(admin_url):
    url = create_database(admin_url)
    yield url
    drop_database(admin_url, url)


@pytest.fixture(scope="session")
def postgres_url(postgres_admin_url):
    yield from _database(postgres_admin_url)


@pytest.fixture
def fresh_postgres_url(postgres_admin_url):
    yield from _database(postgres_admin_url)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory):
    if url := os.environ.get("TRIPCORD_TEST_NATS_URL"):
        yield url
        return
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def throwaway_nats(tmp_path):
    with NatsServer(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def throwaway_postgres():
    with ThrowawayPostgres() as postgres:
        yield postgres


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/tripcord.db"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/tripcord.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def app_client(aiohttp_client, tmp_path, database_url):
    return await aiohttp_client(create_app(make_settings(tmp_path, database_url)))


@pytest.fixture
async def api(app_client) -> Caller:
    return Caller(app_client, random_tenant())


@pytest.fixture
def receive(aiohttp_server):
    async def start(receiver: Receiver) -> str:
        app = web.Application()
        app.router.add_route("*", "/hook", receiver.handle)
        server = await aiohttp_server(app, host="127.0.0.1")
        return str(server.make_url("/hook"))
    return start
