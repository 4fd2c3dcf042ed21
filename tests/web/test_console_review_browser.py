"""Reviewing prompts before paying, in headless Chromium: the start modal's "Review prompts"
shows the run's prompts; an edit and a removal make a run of exactly what was kept."""

from __future__ import annotations

from bulkgen_pipeline import db

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_presets_browser import preset


def test_a_merchant_reviews_edits_and_starts_only_what_they_kept(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    preset(console, shop.user_id, "Reviewed bags", generation_count=3)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/presets")
    card = page.locator(".card.preset", has_text="Reviewed bags")
    card.locator("button.play").click()
    modal = card.locator("dialog[open]")
    modal.locator("button:has-text('Review prompts')").click()
    page.wait_for_url("**/review")
    assert page.locator("#review li").count() == 3
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0  # free so far
    third = page.locator("#prompt-3").input_value()

    page.fill("#prompt-1", "A black leather tote on a marble table")
    page.check("#remove-2")
    page.click("button:has-text('Start run')")
    page.wait_for_url("**/runs/*")
    assert "2 credits reserved" in page.locator("[data-flash]").inner_text()
    job_id = page.url.rsplit("/", 1)[1]
    with console.database.session() as session:
        job = db.get_job(session, job_id)
    generations = job.preset_snapshot["reviewed"]["generations"]
    assert [g["prompt"] for g in generations] == ["A black leather tote on a marble table", third]
    assert [g["attribute_resolution"]["user_edited"] for g in generations] == [True, False]
    assert errors == []
    context.close()


def test_a_finished_tile_starts_a_similar_run_with_a_new_background(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    preset_id = preset(console, shop.user_id, "Similar bags", generation_count=2)
    from bulkgen_pipeline.runs.queueing import start_run

    first = start_run(
        console.database, user_id=shop.user_id, preset_id=preset_id, max_active_jobs=100
    ).job_id
    assert console.run_queued() == [first]
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(f"{console.base_url}/runs/{first}")
    tile = page.locator("form[data-similar='2']")
    tile.locator("input[name=count]").fill("3")
    tile.locator("input[value=background]").check()
    tile.locator("button:has-text('Similar')").click()
    page.wait_for_url("**/runs/*")
    assert "Similar run started: 3 credits reserved" in page.locator("[data-flash]").inner_text()
    similar_id = page.url.rsplit("/", 1)[1]
    assert similar_id != first
    with console.database.session() as session:
        job = db.get_job(session, similar_id)
    config = job.preset_snapshot["body"]["config"]
    assert config["background"] == "__RANDOM__" and config["generation_count"] == 3
    assert errors == []
    context.close()


def test_a_batch_saved_as_a_template_starts_again_from_the_batch_page(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/batch")
    page.locator("textarea[name=prompt_text]").first.fill("A green tote on a wooden table")
    page.fill("#batch-name", "Green totes")
    page.click("button:has-text('Save as template')")
    page.wait_for_url("**/batch")
    assert "Template “Green totes” saved" in page.locator("[data-flash]").inner_text()
    for _ in range(2):  # started again by id, as often as wanted
        page.goto(console.base_url + "/batch")
        page.locator("#templates li", has_text="Green totes").locator("button").click()
        page.wait_for_url("**/runs/*")
        assert "Batch started: 1 credits reserved" in page.locator("[data-flash]").inner_text()
    with console.database.session() as session:
        jobs = db.list_user_jobs(session, shop.user_id).jobs
    assert [job.display_name for job in jobs] == ["Green totes", "Green totes"]
    assert errors == []
    context.close()
