"""The presets pages in headless Chromium, as a newcomer met them: an exact size stays exact
when a preset is saved unchanged, changing the category keeps what was typed, deleting asks
first, ▶ leads to the run, presets of one name can be told apart, and no date breaks across
lines."""

from __future__ import annotations

import re

from bulkgen_pipeline import db
from bulkgen_pipeline.runs.presets import create_preset

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_security import start

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def stored_config(console, preset_id: str) -> dict:
    with console.database.session() as session:
        return db.get_preset(session, preset_id).config


def preset(console, user_id: str, name: str = "Bags", **config) -> str:
    document = {"name": name, "category": "bags", "config": {"generation_count": 2, **config}}
    return create_preset(console.database, user_id, document)


def test_saving_a_preset_unchanged_keeps_its_size_as_it_was(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    exact = preset(console, shop.user_id, "Square", dimensions={"width": 1024, "height": 1024})
    aspect = preset(console, shop.user_id, "Portrait", dimensions={"aspect_ratio": "4:5"})
    # A preset stored before nulls were left out of the dimensions.
    with console.database.session() as session:
        legacy = db.save_preset(
            session,
            shop.user_id,
            "Legacy square",
            "bags",
            {
                **stored_config(console, exact),
                "dimensions": {"width": 768, "height": 1024, "aspect_ratio": None},
            },
        )
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    for preset_id, mode, stored in (
        (exact, "exact", {"width": 1024, "height": 1024}),
        (legacy, "exact", {"width": 768, "height": 1024}),
        (aspect, "aspect", {"aspect_ratio": "4:5"}),
    ):
        page.goto(f"{console.base_url}/presets/{preset_id}/edit")
        assert page.is_checked(f"#dim-{mode}"), preset_id
        page.click("button:has-text('Save')")
        page.wait_for_url("**/presets")
        assert stored_config(console, preset_id)["dimensions"] == stored, preset_id
    assert errors == []
    context.close()


def test_changing_the_category_keeps_what_was_typed(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(console.base_url + "/presets/new")
    page.fill("#name", "Carry-all")
    page.select_option("#attr-material", "leather")
    page.check("#use_model")
    page.select_option("#model-model_sex", "Female")
    page.click("#add-colour")
    page.locator("#palette input[type=color]").last.fill("#c00000")
    page.fill("#generation_count", "7")
    page.fill("#seed", "42")
    page.check("#dim-aspect")
    page.select_option("#aspect_ratio", "16:9")
    page.fill("#negative_prompt", "blurry")

    with page.expect_navigation():
        page.select_option("select[name=category]", "mugs")
    assert page.locator("select[name=category]").input_value() == "mugs"
    assert page.locator("#attr-handle").count() == 1  # the new category's attributes
    assert page.locator("#attr-closure").count() == 0
    assert page.input_value("#name") == "Carry-all"
    assert page.is_checked("#use_model")
    assert page.input_value("#model-model_sex") == "Female"
    assert page.locator("#palette input[type=color]").evaluate_all("l => l.map(i => i.value)") == [
        "#c00000"
    ]
    assert page.input_value("#generation_count") == "7"
    assert page.input_value("#seed") == "42"
    assert page.is_checked("#dim-aspect") and page.input_value("#aspect_ratio") == "16:9"
    assert page.input_value("#negative_prompt") == "blurry"
    assert page.locator(".field-error, [role=alert], [data-flash]").count() == 0
    with console.database.session() as session:
        assert db.list_presets(session, shop.user_id) == []  # nothing stored yet

    page.click("button:has-text('Create preset')")
    page.wait_for_url("**/presets")
    with console.database.session() as session:
        [created] = db.list_presets(session, shop.user_id)
    assert (created.name, created.category) == ("Carry-all", "mugs")
    assert created.config["seed"] == 42 and created.config["generation_count"] == 7
    assert created.config["dimensions"] == {"aspect_ratio": "16:9"}
    assert errors == []
    context.close()


def test_deleting_a_preset_asks_first(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    preset_id = preset(console, shop.user_id, "Keep me?")
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    card = page.locator(".card.preset", has_text="Keep me?")

    card.get_by_role("button", name="Delete", exact=True).click()
    question = page.locator("dialog[open]")
    assert question.count() == 1 and "Keep me?" in question.inner_text()
    question.locator("button:has-text('Cancel')").click()
    assert page.locator("dialog[open]").count() == 0
    page.reload()
    assert card.count() == 1

    card.get_by_role("button", name="Delete", exact=True).click()
    page.locator("dialog[open] button:has-text('Delete preset')").click()
    page.wait_for_url("**/presets")
    assert "Preset deleted" in page.locator("[data-flash]").inner_text()
    assert card.count() == 0
    with console.database.session() as session:
        assert db.get_preset(session, preset_id).deleted_at is not None
    assert errors == []
    context.close()


def test_starting_a_preset_leads_to_its_run(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=10)
    preset(console, shop.user_id, "Tote bags")
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    card = page.locator(".card.preset", has_text="Tote bags")
    card.locator("button.play").click()
    card.locator("dialog button:has-text('Start run')").click()
    page.wait_for_url(re.compile(f"/runs/{UUID}$"))
    job_id = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == "Tote bags"
    assert "Run started: 2 credits reserved." in page.locator("[data-flash]").inner_text()
    with console.database.session() as session:
        assert db.get_job(session, job_id).user_id == shop.user_id
    assert errors == []
    context.close()


def test_presets_of_one_name_can_be_told_apart(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console)
    first, second = (preset(console, shop.user_id, "Bags") for _ in range(2))
    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    cards = page.locator(".card.preset")
    assert cards.count() == 2
    texts = [cards.nth(i).inner_text() for i in range(2)]
    assert texts[0] != texts[1]
    for card_text, preset_id in zip(texts, (first, second), strict=True):
        assert preset_id[:8] in card_text and "Created" in card_text
    cards.nth(1).locator("button.play").click()
    assert second[:8] in page.locator("dialog[open]").inner_text()
    assert errors == []
    context.close()


DATES_ON_ONE_LINE = """
() => {
  const date = /\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} UTC/g;
  const broken = [], found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(date)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      found.push(match[0]);
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return {found: found.length, broken};
}
"""


def test_no_date_breaks_across_lines(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    job_id = start(console, shop.user_id, name="A preset with a rather long name", count=2)
    context, page, errors = browser_sign_in(
        browser, console, shop.api_key, viewport={"width": 375, "height": 740}
    )
    for path in ("/presets", "/runs", f"/runs/{job_id}", "/account"):
        page.goto(console.base_url + path)
        for width in range(320, 481, 8):
            page.set_viewport_size({"width": width, "height": 740})
            dates = page.evaluate(DATES_ON_ONE_LINE)
            assert dates["found"] >= 1, path
            assert dates["broken"] == [], f"{path} at {width} px: {dates['broken']}"
    assert errors == []
    context.close()
