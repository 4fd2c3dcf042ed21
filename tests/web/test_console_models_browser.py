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
