"""Listing pages: the deep-offset path (keys first, then rows) answers exactly as the direct one."""

import pytest

from infrastructure.sql import listing as listing_module
from tests.stores import Stores


@pytest.fixture(params=["sqlite", "postgres"])
async def triggers(request):
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "fresh_postgres_url")
    stores = Stores.open(url)
    service = stores.triggers()
    for n in range(7):
        service.create("t1", {"name": f"n{n}", "event_type": "purchase" if n % 2 else "page_view",
                              "action_type": "recommend", "action_config": {"decisionFlowId": "df"},
                              "priority": n % 3}, "tester")
    yield service
    await stores.close()


@pytest.mark.parametrize("event_type", [None, "purchase"])
def test_every_page_is_the_same_through_either_path(triggers, monkeypatch, event_type):
    def pages(deep_from: int) -> list:
        monkeypatch.setattr(listing_module, "DEEP_OFFSET", deep_from)
        return [triggers.page("t1", None, event_type, 3, offset) for offset in range(9)]

    direct, deep = pages(10**9), pages(0)

    assert deep == direct
    everything, total = triggers.page("t1", None, event_type, 50, 0)
    assert [rows for rows, _ in direct] == [everything[o:o + 3] for o in range(9)]
    assert {t for _, t in direct} == {total} and total == (3 if event_type else 7)
