"""Fixtures of the integration tests."""

import pytest

from tests.stores import Stores


@pytest.fixture(params=["sqlite", "postgres"])
async def stores(request):
    """The storage side of the app on a fresh database, once on each backend."""
    stores = Stores.open(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "fresh_postgres_url"))
    yield stores
    await stores.close()
