"""Choosing the image model in the console, in headless Chromium: the models page lists the
catalogue, the preset form saves a choice and names the field the catalogue refuses."""

from __future__ import annotations

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_presets_browser import preset, stored_config

PREVIEW = "local-preview-v1"


def test_a_merchant_chooses_a_model_and_sees_what_it_takes(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    preset_id = preset(console, shop.user_id, "Bags")
    context, page, errors = browser_sign_in(browser, console, shop.api_key)

    page.goto(console.base_url + "/models")
    row = page.locator(f"#models tr[data-model='{PREVIEW}']")
    assert "1–100 (default 30)" in row.inner_text()  # its steps range

    page.goto(f"{console.base_url}/presets/{preset_id}/edit")
    assert page.locator("#image_model").input_value() == ""  # bulkgen chooses by default
    page.select_option("#image_model", PREVIEW)
    page.fill("#steps", "12")
    page.fill("#guidance_scale", "3.5")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/presets")
    config = stored_config(console, preset_id)
    assert (config["model"], config["steps"], config["guidance_scale"]) == (PREVIEW, 12, 3.5)

    page.goto(f"{console.base_url}/presets/{preset_id}/edit")
    assert page.locator("#image_model").input_value() == PREVIEW
    page.fill("#steps", "many")
    page.click("button:has-text('Save')")
    assert page.locator("#err-steps").is_visible()  # the problem sits by its field
    assert stored_config(console, preset_id)["steps"] == 12  # nothing saved
    assert errors == []
    context.close()


def test_the_start_modal_prices_the_chosen_model_and_starts_a_high_priority_run(
    browser, sqlite_console, monkeypatch
):
    from bulkgen_pipeline import db

    monkeypatch.setenv("BULKGEN_MODEL_CREDITS", f"{PREVIEW}=3")  # the operator's price
    console = sqlite_console
    shop = sign_in(console, credits=40)
    preset(console, shop.user_id, "Priced bags", model=PREVIEW)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/presets")
    card = page.locator(".card.preset", has_text="Priced bags")
    card.locator("button.play").click()
    modal = card.locator("dialog[open]")
    assert "Credits needed: 6 (3 per image)" in modal.inner_text()  # 2 images × 3
    modal.locator("input[name=generation_count]").fill("4")
    assert "Credits needed: 12" in modal.inner_text()
    modal.locator("input[name=priority]").check()
    modal.locator("button:has-text('Start run')").click()
    page.wait_for_url("**/runs/*")
    assert "12 credits reserved" in page.locator("[data-flash]").inner_text()
    job_id = page.url.rsplit("/", 1)[1]
    with console.database.session() as session:
        job = db.get_job(session, job_id)
    assert (job.priority, job.credits_per_image, job.estimated_credits) == ("high", 3, 12)
    assert errors == []
    context.close()


def test_a_forged_priority_from_the_console_starts_nothing(sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    preset_id = preset(console, shop.user_id, "Bags")
    answer = shop.client.post(
        f"/presets/{preset_id}/start",
        data={"csrf_token": shop.csrf_token, "generation_count": "2", "priority": "urgent"},
        follow_redirects=True,
    )
    assert "priority must be normal or high" in answer.text
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


def test_the_batch_form_chooses_a_model_and_shows_a_refusal_by_its_field(sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    rows = {
        "csrf_token": shop.csrf_token,
        "mode": "prompts",
        "prompt_text": ["A red bag on a table"],
        "dimension_mode": "exact",
        "width": "512",
        "height": "512",
        "image_model": PREVIEW,
        "steps": "500",
    }
    page = shop.client.get("/batch").text
    assert f'<option value="{PREVIEW}"' in page
    refused = shop.client.post("/batch", data=rows)
    assert refused.status_code == 422
    # The catalogue's refusal sits by the steps field, the choice kept.
    assert 'name="steps" inputmode="numeric" value="500"><p class="field-error">steps must be' in (
        refused.text
    )
    started = shop.client.post("/batch", data={**rows, "steps": "12"})
    assert started.status_code == 303, started.text
    job_id = started.headers["location"].removeprefix("/runs/")
    with console.database.session() as session:
        from bulkgen_pipeline import db

        shared = db.get_job(session, job_id).preset_snapshot["body"]["shared_settings"]
    assert (shared["model"], shared["steps"]) == (PREVIEW, 12)
