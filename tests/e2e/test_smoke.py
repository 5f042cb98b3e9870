from tests.e2e.conftest import HIGH_VALUE


async def test_seed_example_creates_a_trigger_and_lists_it(api):
    created = await api.json("POST", "/api/v1/triggers", json=HIGH_VALUE, expect=201)

    listed = await api.json("GET", "/api/v1/triggers")

    assert created["id"].startswith("tr_") and created["version"] == 1
    assert listed["data"] == [created]
    assert listed["pagination"] == {"total": 1, "limit": 50, "offset": 0, "hasMore": False}
