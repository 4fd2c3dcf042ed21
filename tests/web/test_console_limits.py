"""The account page's limits, in headless Chromium: the merchant sets a daily limit and an
alert threshold; one above the operator's ceiling is refused with the reason."""

from __future__ import annotations

from bulkgen_pipeline.runs.limits import limits_of, set_daily_ceiling

from .conftest import sign_in
from .test_console_browser import browser_sign_in


def test_a_merchant_sets_their_limits_on_the_account_page(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    set_daily_ceiling(console.database, shop.user_id, 20)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/account")
    assert "at most 20 a day" in page.locator("#limits").inner_text()

    page.fill("#daily_images", "30")
    page.click("button:has-text('Save limits')")
    page.wait_for_url("**/account")
    assert "at most your operator's limit of 20" in page.locator("[data-flash]").inner_text()
    assert limits_of(console.database, shop.user_id).day.own is None

    page.fill("#daily_images", "12")
    page.fill("#low_credit_threshold", "5")
    page.click("button:has-text('Save limits')")
    page.wait_for_url("**/account")
    assert page.locator("#daily-effective").inner_text() == "12"
    limits = limits_of(console.database, shop.user_id)
    assert (limits.day.own, limits.low_credit_threshold) == (12, 5)
    assert errors == []
    context.close()
