"""Campaigns in the console, in headless Chromium: a CSV of products (a stored preset with
overrides, a whole new preset) starts a run per row, reserved together; a bad row is named by its
row and column and nothing starts; the campaign's page shows its runs, retries the failed ones,
cancels the rest and downloads every image; another merchant's campaign is the not-found page."""

from __future__ import annotations

import io
import json
import zipfile

from bulkgen_pipeline import db
from bulkgen_pipeline.runs.campaigns import campaigns_of

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_presets_browser import preset

GOOD = (
    "preset_id,generation_count,material,name,category,type,size,background\n"
    "{bags},1,canvas,,,,,\n"
    "{bags},2,,,,,,\n"
    ",1,,Tote from the sheet,bags,tote bag,medium,__RANDOM__\n"
)


def upload(page, name: str, text: str) -> None:
    page.fill("#campaign-name", name)
    page.set_input_files(
        "#campaign-csv",
        files=[{"name": "products.csv", "mimeType": "text/csv", "buffer": text.encode()}],
    )
    page.click("button:has-text('Start campaign')")


def test_a_merchant_starts_a_campaign_from_a_csv_and_follows_cancels_and_downloads_it(
    browser, sqlite_console
):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    bags = preset(console, shop.user_id, "Bags")
    context, page, errors = browser_sign_in(browser, console, shop.api_key)

    page.click("nav >> text=Campaigns")
    page.wait_for_url("**/campaigns")
    assert "No campaigns yet." in page.inner_text("main")

    # Row 3 asks for 80 images and row 4 for a material bags do not come in: both named, and
    # nothing starts.
    bad = GOOD.format(bags=bags).replace(f"{bags},2,", f"{bags},80,")
    bad = bad.replace(",1,,Tote", ",1,velvet-ish,Tote")
    upload(page, "Spring", bad)
    listed = page.locator("#campaign-errors").inner_text()
    assert "row 3, column generation_count: must be between 1 and 50, got 80" in listed
    assert "row 4, column material" in listed
    assert page.locator("#campaign-name").input_value() == "Spring"  # what was typed stays
    assert campaigns_of(console.database, shop.user_id) == []

    upload(page, "Spring", GOOD.format(bags=bags))
    page.wait_for_url("**/campaigns/*")
    assert (
        "Campaign started: 3 runs, 4 credits reserved." in page.locator("[data-flash]").inner_text()
    )
    [made] = campaigns_of(console.database, shop.user_id)
    rows = page.locator("#campaign-runs tbody tr")
    assert rows.count() == 3
    assert "Tote from the sheet" in rows.nth(2).inner_text()
    run_ids = [rows.nth(i).get_attribute("data-run-id") for i in range(3)]
    with console.database.session() as session:
        first = db.get_job(session, run_ids[0])
        assert first.run_config["material"] == "canvas"  # the row's override
        assert first.campaign_id == made.id

    # The first run is made; the other two are cancelled from the page.
    [request] = [r for r in console.tick() if r.run_key == run_ids[0]]
    console.run(run_ids[0])
    page.reload()
    assert "1 completed" in page.locator("#campaign-summary").inner_text()
    page.click("button:has-text('Cancel all')")
    page.wait_for_url(f"**/campaigns/{made.id}")
    assert "Cancelled 2 runs; 1 had already ended." in page.locator("[data-flash]").inner_text()
    assert "2 cancelled" in page.locator("#campaign-summary").inner_text()
    page.click("button:has-text('Retry failed')")
    assert "Nothing was retried" in page.locator("[data-flash]").inner_text()

    with page.expect_download() as waiting:
        page.click("text=Download all")
    with zipfile.ZipFile(io.BytesIO(waiting.value.path().read_bytes())) as bundle:
        manifest = json.loads(bundle.read("campaign.json"))
        images = [n for n in bundle.namelist() if n.endswith(".png")]
    assert images == [f"{run_ids[0]}/generation_1.png"]
    assert [r["job_id"] for r in manifest["runs"]] == run_ids

    page.goto(console.base_url + "/campaigns")
    row = page.locator(f"[data-campaign-id='{made.id}']")
    assert row.locator(".campaign-progress").inner_text() == "1 of 4 images"

    other = console.merchant(name="Other")
    _, theirs, _ = browser_sign_in(browser, console, other.api_key)
    answer = theirs.goto(console.base_url + f"/campaigns/{made.id}")
    assert answer is not None and answer.status == 404
    assert errors == []
    context.close()
