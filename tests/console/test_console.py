"""The web console in a real headless Chromium, against a real `tripcord serve`, end to end.

Playwright drives Debian's Chromium (its own browser download does not work here). Screenshots go to
TRIPCORD_SCREENSHOTS when set (`TRIPCORD_SCREENSHOTS=docs` refreshes docs/console.png), else to the
test's temporary directory.
"""

import asyncio
import os
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import async_playwright, expect

from tests.api import JWT_SECRET, token
from tests.e2e.receivers import Receiver
from tests.processes import ServeProcess

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-quic"]
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_DATA = {"note": "<b>bold</b><script>alert(2)</script>", "amount": 700}


@pytest.fixture
async def receiver(aiohttp_server):
    found = Receiver(then=200)
    app = web.Application()
    app.router.add_route("*", "/hook", found.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    found.url = str(server.make_url("/hook"))
    return found


@pytest.fixture
async def served(tmp_path, nats_url):
    env = {"TRIPCORD_DATA_DIR": str(tmp_path / "data"), "TRIPCORD_NATS_URL": nats_url,
           "TRIPCORD_JWT_SECRET": JWT_SECRET, "TRIPCORD_WEBHOOK_ALLOW_PRIVATE": "true",
           "TRIPCORD_RETRY_SCHEDULE": "0.3", "TRIPCORD_RELAY_POLL_S": "0.2", "TRIPCORD_RELAY_GRACE_S": "1",
           "TRIPCORD_INDEX_POLL_S": "0.2", "TRIPCORD_DISPATCH_DEADLINE_S": "1"}
    process = ServeProcess(env, tmp_path / "serve.log")
    try:
        await process.ready()
        yield process
    finally:
        process.stop()


@pytest.fixture
async def browser():
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("TRIPCORD_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def open_page(browser, served, width: int = 1280, height: int = 900):
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="en-GB",
                                        timezone_id="Europe/Paris")
    page = await context.new_page()
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), asyncio.ensure_future(dialog.dismiss())))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # The browser logs every 4xx answer as "Failed to load resource"; the validation answers the
    # scenario provokes are expected, so only the console's own errors count.
    page.on("console", lambda message: message.type == "error" and not message.text.startswith(
        "Failed to load resource") and page.errors.append(message.text))
    await page.goto(f"{served.url}/console/")
    return page


async def sign_in(page, tenant: str, roles=("admin",)):
    await page.get_by_label("Token").fill(token((tenant,), roles, sub="console-tester"))
    await page.get_by_label("Tenant").fill(tenant)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Triggers")).to_be_visible()


async def ingest(served, tenant: str, customer: str, data: dict) -> dict:
    headers = {"Authorization": f"Bearer {token((tenant,))}", "X-Tenant-Id": tenant}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{served.url}/api/v1/events/ingest", headers=headers,
                                json={"type": "purchase", "customerId": customer, "data": data}) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def no_sideways_scroll(width: int) -> str:
    return f"document.scrollingElement.scrollWidth <= {width}"


async def test_an_admin_builds_a_trigger_watches_events_and_resends_a_dead_dispatch(served, browser, receiver, shots):
    tenant = "console-" + os.urandom(3).hex()
    page = await open_page(browser, served)
    answer = await page.request.get(f"{served.url}/console/")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    await sign_in(page, tenant)
    await expect(page.get_by_text("No triggers here yet")).to_be_visible()
    assert "token" not in page.url and "eyJ" not in page.url

    # Create a webhook trigger through the form, with a validation error first.
    await page.get_by_role("link", name="New trigger").click()
    await page.get_by_label("Name").fill(XSS_NAME)
    await page.get_by_label("Action", exact=True).select_option("webhook")
    await page.locator("#actionConfig").fill(f'{{"url": "{receiver.url}", "headers": {{"X-Team": "growth"}}}}')
    await page.locator("#condition").fill('{"all": [{"field": "amount", "operator": "bigger", "value": 500}]}')
    await page.get_by_role("button", name="Create trigger").click()
    await expect(page.locator("#condition-errors")).to_contain_text("unknown operator 'bigger'")
    await expect(page.locator("#condition-errors")).to_contain_text("condition.all[0].operator")
    await page.screenshot(path=shots / "console-validation.png", full_page=True)
    await page.locator("#condition").fill('{"all": [{"field": "amount", "operator": "greater_than", "value": 500}]}')
    await page.get_by_role("button", name="Create trigger").click()
    row = page.locator("tr[data-trigger]")
    await expect(row).to_have_count(1)
    await expect(row.locator(".name")).to_have_text(XSS_NAME)  # shown as text, never run as markup

    # Dry run, with the trace as a table.
    await row.get_by_role("link", name="Dry run").click()
    await page.locator("#payload").fill('{"amount": 700}')
    await page.get_by_role("button", name="Run").click()
    result = page.locator("#dry-run-result")
    await expect(result).to_contain_text("would fire")
    await expect(result.locator("table.trace tbody tr")).to_have_count(1)
    await expect(result.locator("table.trace")).to_contain_text("700 is greater than 500")
    await expect(result).to_contain_text('"X-Team": "********"')
    await page.screenshot(path=shots / "console-dry-run.png", full_page=True)

    # Events ingested through the API appear on the live stream within 2 s.
    await page.get_by_role("link", name="Live stream").click()
    await expect(page.get_by_text("Live: new events appear")).to_be_visible(timeout=10_000)
    delays = []
    for n in range(3):
        sent = time.monotonic()
        event = await ingest(served, tenant, f"c{n}", {**XSS_DATA, "n": n})
        await expect(page.locator(f'tr[data-event="{event["eventId"]}"]')).to_be_visible(timeout=2_000)
        delays.append(time.monotonic() - sent)
    await expect(page.locator("#live-events")).to_contain_text("<script>alert(2)</script>")
    await page.screenshot(path=shots / "console-live.png", full_page=True)

    # The receiver fails: the dispatch dies, and the log shows each attempt with its answer.
    receiver.then = 500
    failing = await ingest(served, tenant, "c-fail", {"amount": 900})
    dispatch_id = failing["actionErrors"][0]["dispatchId"]
    await page.goto(f"{served.url}/console/#/dispatches?status=dead")
    dead = page.locator(f'tr[data-dispatch="{dispatch_id}"]')
    for _ in range(40):  # the schedule gives one retry 0.3 s later; then it is dead
        if await dead.count():
            break
        await asyncio.sleep(0.25)
        await page.reload()
    await expect(dead).to_be_visible()
    await dead.get_by_role("button", name=dispatch_id).click()
    detail = page.locator("#dispatch")
    await expect(detail).to_contain_text("webhook answered HTTP 500")
    await expect(detail.locator("tbody tr")).to_have_count(2)
    await expect(detail).to_contain_text("answered 500")
    await page.screenshot(path=shots / "console-dead.png", full_page=True)

    # Fixed, and resent from the log: delivered, with the same webhook-id.
    receiver.then = 200
    await detail.get_by_role("button", name="Resend now").click()
    await expect(page.locator("#dispatch")).to_contain_text("delivered", timeout=10_000)
    assert receiver.ids.count(dispatch_id) == 3 and receiver.delivered.count(dispatch_id) == 1

    # And the trigger's counts moved: every fire delivered, no failure left.
    await page.get_by_role("link", name="Triggers").click()
    counts = page.locator("tr[data-trigger]")
    await expect(counts.locator('[data-count="fired"]')).to_have_text("4")
    await expect(counts.locator('[data-count="failed"]')).to_have_text("0")
    await page.screenshot(path=shots / "console.png", full_page=False)

    # History with two versions side by side, after a pause.
    await counts.get_by_role("button", name="Pause").click()
    await expect(page.locator("tr[data-trigger]")).to_contain_text("paused")
    await page.locator("tr[data-trigger]").get_by_role("link", name="History").click()
    await expect(page.locator("table.diff tr.changed")).to_contain_text("status")
    await page.screenshot(path=shots / "console-history.png", full_page=True)

    # Look-up: the event, and what its trigger did.
    await page.goto(f"{served.url}/console/#/lookup?event={failing['eventId']}")
    await expect(page.locator("#event-story")).to_contain_text("fired")
    await expect(page.locator("#event-story")).to_contain_text(dispatch_id)

    assert page.dialogs == [] and page.errors == [], (page.dialogs, page.errors)
    assert max(delays) < 2.0
    print(f"\nFIGURES console: live-stream delays {', '.join(f'{d:.2f}' for d in delays)} s")


async def test_at_390_px_every_page_fits_and_times_are_the_browser_s(served, browser, receiver, shots):
    tenant = "narrow-" + os.urandom(3).hex()
    page = await open_page(browser, served, width=390, height=844)
    await sign_in(page, tenant)
    headers = {"Authorization": f"Bearer {token((tenant,))}", "X-Tenant-Id": tenant}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{served.url}/api/v1/triggers", headers=headers, json={
                "name": "A long trigger name that has to wrap on a phone", "eventType": "purchase",
                "actionType": "webhook", "actionConfig": {"url": receiver.url}}) as response:
            assert response.status == 201
    await ingest(served, tenant, "c1", {"amount": 1})
    for view in ("#/triggers", "#/dispatches", "#/live", "#/lookup?customer=c1"):
        await page.goto(f"{served.url}/console/{view}")
        await page.wait_for_load_state("networkidle")
        assert await page.evaluate(no_sideways_scroll(390)), view
    await page.screenshot(path=shots / "console-390.png", full_page=True)
    shown = await page.locator("#timeline time").first.text_content()
    iso = await page.locator("#timeline time").first.get_attribute("datetime")
    assert shown != iso and "Z" not in shown  # the browser's own zone and format
    assert page.errors == []


async def test_an_editor_sees_no_admin_controls(served, browser, receiver):
    tenant = "editor-" + os.urandom(3).hex()
    headers = {"Authorization": f"Bearer {token((tenant,))}", "X-Tenant-Id": tenant}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{served.url}/api/v1/triggers", headers=headers, json={
                "name": "kept", "eventType": "purchase", "actionType": "webhook",
                "actionConfig": {"url": receiver.url}}) as response:
            assert response.status == 201
    page = await open_page(browser, served)

    await sign_in(page, tenant, roles=("editor",))

    await expect(page.locator("tr[data-trigger]")).to_have_count(1)
    await expect(page.get_by_role("button", name="Delete")).to_have_count(0)

    # An editor edits: the form comes filled with the stored trigger, and the change is saved.
    await page.locator("tr[data-trigger] a.name").click()
    await expect(page.get_by_label("Name")).to_have_value("kept")
    await page.get_by_label("Priority").fill("80")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.locator("tr[data-trigger] td.num").first).to_have_text("80")
    await expect(page.get_by_role("button", name="Pause")).to_have_count(1)
    await page.get_by_role("link", name="Dispatches").click()
    await expect(page.get_by_role("heading", name="Dispatches")).to_be_visible()
    await expect(page.get_by_role("button", name="Resend all dead")).to_have_count(0)
    assert page.errors == []
