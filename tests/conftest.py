"""Real PostgreSQL and NATS for tests: TRIPCORD_TEST_* variables, else throwaway servers. Never skip."""

import os

import pytest

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
