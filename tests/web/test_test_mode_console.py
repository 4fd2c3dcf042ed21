"""The console in test mode (issue 18), driven in Chromium: signed in with the merchant's
test-mode key it says so on every page, starts test runs (marked with a "test" badge, nothing
reserved) and shows only test runs; the live key's sign-in shows neither the banner nor them."""

from __future__ import annotations

from bulkgen_pipeline import db

from ..api.conftest import Merchant
from .test_console_browser import browser_sign_in


def test_signing_in_with_a_test_key_puts_the_console_in_test_mode(browser, sqlite_console):
    console = sqlite_console
    with console.database.session() as session:
        created = db.create_user(session, "Acme Bags", 30)
    live = Merchant(created.user_id, created.api_key, console.client(created.api_key))
    live.preset(generation_count=2)
    live_run = live.start(live.preset(generation_count=1)).json()["job_id"]

    context, page, errors = browser_sign_in(browser, console, created.test_api_key)
    banner = page.locator("[data-test-mode]")
    assert banner.is_visible() and "Test mode" in banner.inner_text()

    card = page.locator(".card.preset").first
    card.locator("button.play").click()
    card.locator("dialog[open] button:has-text('Start run')").click()
    page.wait_for_url("**/runs/*")
    assert "test mode, no credits reserved" in page.locator("[data-flash]").inner_text()
    assert page.locator("#run .test-badge").is_visible()
    test_run = page.url.rsplit("/", 1)[1]
    assert page.locator("[data-test-mode]").is_visible()  # on every page

    page.goto(console.base_url + "/runs")
    rows = page.locator(".run-row")
    assert rows.count() == 1 and rows.first.get_attribute("data-run-id") == test_run
    assert rows.first.locator(".test-badge").is_visible()
    assert errors == []
    page.goto(console.base_url + f"/runs/{live_run}")  # the live run is not the test key's
    assert page.locator("h1").inner_text() == "Not found"

    with console.database.session(readonly=True) as session:
        user = db.get_user(session, created.user_id)
        assert user is not None and (user.balance, user.reserved) == (30, 1)  # the live run's
        assert db.get_job(session, test_run).is_test
    context.close()

    context, page, errors = browser_sign_in(browser, console, created.api_key)
    assert page.locator("[data-test-mode]").count() == 0
    page.goto(console.base_url + "/runs")
    rows = page.locator(".run-row")
    assert rows.count() == 1 and rows.first.get_attribute("data-run-id") == live_run
    assert rows.first.locator(".test-badge").count() == 0
    assert errors == []
    context.close()
