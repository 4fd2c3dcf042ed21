"""Several sizes from the console, in headless Chromium: the preset form's "More sizes" (a bad
one named by its place), the start modal's credits for every size, and the run page's tiles
saying which generation and size each image is."""

from __future__ import annotations

import re

from bulkgen_pipeline import db

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_presets_browser import UUID


def test_a_preset_in_three_sizes_from_form_to_run_page(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/presets/new")
    page.fill("#name", "Tote in three sizes")
    page.fill("#generation_count", "2")
    page.check("#dim-aspect")
    page.select_option("#aspect_ratio", "1:1")
    page.fill("#more_sizes", "9:16, 100x2000")
    page.click("button:has-text('Create preset')")
    # The third size is too narrow: the form comes back, saying which size and why.
    error = page.locator(".field-error", has_text="size 3")
    assert "256" in error.inner_text()
    assert page.input_value("#more_sizes") == "9:16, 100x2000"  # as typed
    with console.database.session() as session:
        assert db.list_presets(session, shop.user_id) == []

    page.fill("#more_sizes", "9:16, 768x1024")
    page.click("button:has-text('Create preset')")
    page.wait_for_url("**/presets")
    with console.database.session() as session:
        [created] = db.list_presets(session, shop.user_id)
    assert created.config["dimensions"] == [
        {"aspect_ratio": "1:1"},
        {"aspect_ratio": "9:16"},
        {"width": 768, "height": 1024},
    ]

    card = page.locator(".card.preset", has_text="Tote in three sizes")
    card.locator("button.play").click()
    modal = card.locator("dialog[open]")
    assert modal.locator("dd", has_text="1:1, 9:16, 768 × 1024 px").count() == 1
    assert modal.locator(".credits-line strong").first.inner_text() == "6"
    modal.locator("input[name=generation_count]").fill("3")
    assert modal.locator(".credits-line strong").first.inner_text() == "9"  # 3 × 3 sizes
    modal.locator("button:has-text('Start run')").click()
    page.wait_for_url(re.compile(f"/runs/{UUID}$"))
    assert "9 credits reserved" in page.locator("[data-flash]").inner_text()
    job_id = page.url.rsplit("/", 1)[1]

    assert console.run_queued() == [job_id]
    page.reload()
    tiles = page.locator(".tile.state-done")
    assert tiles.count() == 9
    labels = page.locator(".tile-size").all_inner_texts()
    assert labels[:3] == ["generation 1 · 1x1", "generation 1 · 9x16", "generation 1 · 768x1024"]
    assert labels[-1] == "generation 3 · 768x1024"
    assert errors == []
    context.close()


def test_a_prompt_batch_in_two_sizes_from_the_batch_page(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/batch")
    page.locator(".prompt-row textarea, .prompt-row input").first.fill("a green canvas tote")
    page.fill("#more_sizes", "16:9")
    page.click("button:has-text('Start batch')")
    page.wait_for_url(re.compile(f"/runs/{UUID}$"))
    assert "2 credits reserved" in page.locator("[data-flash]").inner_text()
    job_id = page.url.rsplit("/", 1)[1]
    with console.database.session() as session:
        job = db.get_job(session, job_id)
    assert job.preset_snapshot["body"]["shared_settings"]["dimensions"] == [
        {"width": 1024, "height": 1024},
        {"aspect_ratio": "16:9"},
    ]
    assert page.locator(".tile").count() == 2
    assert page.locator(".tile-size").all_inner_texts() == [
        "generation 1 · 1024x1024",
        "generation 1 · 16x9",
    ]
    assert errors == []
    context.close()
