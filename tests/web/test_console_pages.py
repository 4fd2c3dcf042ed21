"""The console's pages over HTTP: what a page load costs in SQL whatever the number of runs,
validation problems placed next to their fields, and starts from the preset and batch forms."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from bulkgen_pipeline import db

from .conftest import sign_in
from .test_console_security import start

# Per page: the session's user, then at most a few reads (the run page also reads its items).
MAX_STATEMENTS_PER_PAGE = 6


@contextmanager
def counted_statements(database: db.Database) -> Iterator[list[str]]:
    statements: list[str] = []
    lock = threading.Lock()

    def count(conn, cursor, statement, *args) -> None:
        with lock:
            statements.append(statement)

    sa.event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", count)


def statements_per_page(console, shop, paths: list[str]) -> dict[str, int]:
    costs = {}
    for path in paths:
        with counted_statements(console.database) as statements:
            assert shop.client.get(path).status_code == 200, path
        costs[path] = len(statements)
    return costs


def test_a_page_load_costs_a_handful_of_queries_whatever_the_number_of_runs(console):
    shop = sign_in(console, credits=500)
    first = start(console, shop.user_id, count=3)
    paths = ["/presets", "/runs", "/account", f"/runs/{first}"]
    few = statements_per_page(console, shop, paths)
    for index in range(45):  # past two pages of runs, and many presets with a last run each
        start(console, shop.user_id, name=f"Preset {index}", count=1)
    many = statements_per_page(console, shop, [*paths, "/runs?cursor=999999"])
    assert {p: many[p] for p in paths} == few
    assert max(many.values()) <= MAX_STATEMENTS_PER_PAGE, many
    runs = shop.client.get("/runs").text
    assert runs.count('class="card run-row"') == 20  # one page
    cursor = re.search(r'href="/runs\?cursor=(\d+)"', runs).group(1)
    second = shop.client.get(f"/runs?cursor={cursor}").text
    assert second.count('class="card run-row"') == 20
    assert set(re.findall(r'data-run-id="([^"]+)"', runs)).isdisjoint(
        re.findall(r'data-run-id="([^"]+)"', second)
    )
    presets = shop.client.get("/presets").text
    assert presets.count('class="card preset"') == 46
    assert presets.count("status-queued") == 46  # each preset's last run, from one query


PRESET_FORM = {
    "category": "bags",
    "name": "Console bags",
    "attr.material": "leather",
    "attr.type": "__RANDOM__",
    "use_model": "on",
    "model.model_sex": "Female",
    "model.model_age": "__RANDOM__",
    "model.model_ethnicity": "__RANDOM__",
    "background_model": "__RANDOM__",
    "background_product": "on a wooden table",
    "color": ["#ff0000", "#000000"],
    "color_strategy": "cycling",
    "generation_count": "4",
    "dimension_mode": "aspect",
    "aspect_ratio": "4:5",
    "width": "1024",
    "height": "1024",
    "sampling": "unique",
    "seed": "",
}


def field_errors(page: str) -> dict[str, list[str]]:
    return {
        name: [
            html.unescape(m)
            for m in re.findall(r'<p class="field-error" id="err-[^"]+">([^<]+)', block)
        ]
        for name, block in re.findall(
            r'<div class="field[^"]*">\s*<label for="([^"]+)">(.*?)</div>', page, re.S
        )
        if "field-error" in block
    }


def test_the_preset_form_stores_what_the_api_stores_and_names_bad_fields(sqlite_console):
    shop = sign_in(sqlite_console)
    bad = {
        **PRESET_FORM,
        "attr.material": "unobtainium",
        "generation_count": "80",
        "seed": "-3",
        "csrf_token": shop.csrf_token,
    }
    answer = shop.client.post("/presets/new", data=bad)
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert "'unobtainium' is not an allowed value" in errors["attr-material"][0]
    assert "less than or equal to 50" in errors["generation_count"][0]
    assert "greater than or equal to 0" in errors["seed"][0]
    assert set(errors) == {"attr-material", "generation_count", "seed"}
    assert 'value="80"' in answer.text  # what was typed stays in the form

    good = shop.client.post("/presets/new", data={**PRESET_FORM, "csrf_token": shop.csrf_token})
    assert good.status_code == 303
    with sqlite_console.database.session() as session:
        [preset] = db.list_presets(session, shop.user_id)
    assert preset.name == "Console bags" and preset.category == "bags"
    config = preset.config
    assert config["material"] == "leather" and config["type"] == "__RANDOM__"
    assert config["use_model"] is True
    assert config["model_attributes"]["model_sex"] == "Female"
    assert config["color_palette"] == ["#FF0000", "#000000"]
    assert config["dimensions"]["aspect_ratio"] == "4:5"
    assert config["generation_count"] == 4
    # Editing shows the stored values and replaces the preset.
    edit = shop.client.get(f"/presets/{preset.id}/edit").text
    assert '<option value="leather" selected>' in edit
    assert 'value="4:5" selected' in edit
    changed = {**PRESET_FORM, "use_model": "", "generation_count": "2"}
    saved = shop.client.post(
        f"/presets/{preset.id}/edit", data={**changed, "csrf_token": shop.csrf_token}
    )
    assert saved.status_code == 303
    with sqlite_console.database.session() as session:
        stored = db.get_preset(session, preset.id).config
    assert stored["use_model"] is False and stored["background"] == "on a wooden table"
    assert stored["generation_count"] == 2


def test_play_starts_the_run_and_shows_its_page_or_says_why_not(sqlite_console):
    shop = sign_in(sqlite_console, credits=3)
    form = {**PRESET_FORM, "csrf_token": shop.csrf_token}
    assert shop.client.post("/presets/new", data=form).status_code == 303
    page = shop.client.get("/presets").text
    preset_id = re.search(r'data-preset-id="([^"]+)"', page).group(1)
    assert "Credits needed: <strong" in page and "available: <strong" in page
    refused = shop.client.post(
        f"/presets/{preset_id}/start",
        data={"csrf_token": shop.csrf_token, "generation_count": "4"},
        follow_redirects=True,
    )
    assert "not enough credits: 4 needed, 3 available" in refused.text
    started = shop.client.post(
        f"/presets/{preset_id}/start",
        data={"csrf_token": shop.csrf_token, "generation_count": "2"},
        follow_redirects=True,
    )
    job_id = re.search(r'<code class="job-id">([^<]+)</code>', started.text).group(1)
    assert started.url.path == f"/runs/{job_id}"  # the run's page, where it can be followed
    with sqlite_console.database.session() as session:
        job = db.get_job(session, job_id)
        assert (job.user_id, job.total_images, job.status) == (shop.user_id, 2, "queued")
    # The flash shows once.
    assert "job-id" not in shop.client.get("/presets").text


def test_the_batch_form_starts_prompt_lists_and_variations(sqlite_console):
    shop = sign_in(sqlite_console)
    token = {"csrf_token": shop.csrf_token}
    rows = {
        "mode": "prompts",
        "prompt_text": ["A red bag on a table", "", "A blue bag"],
        "prompt_negative": ["blurry", "", ""],
        "prompt_seed": ["11", "", "twelve"],
        "dimension_mode": "exact",
        "width": "512",
        "height": "512",
    }
    refused = shop.client.post("/batch", data={**rows, **token})
    assert refused.status_code == 422
    # The bad seed is on the third posted row (the empty second row is no prompt).
    assert re.search(
        r'name="prompt_seed" value="twelve".*?field-error">Input should be a valid '
        r"integer",
        refused.text,
        re.S,
    )
    started = shop.client.post("/batch", data={**rows, "prompt_seed": ["11", "", "12"], **token})
    assert started.status_code == 303
    job_id = started.headers["location"].removeprefix("/runs/")
    variations = shop.client.post(
        "/batch",
        data={
            "mode": "variations",
            "var_text": "A mug of tea",
            "var_count": "3",
            "dimension_mode": "aspect",
            "aspect_ratio": "16:9",
            **token,
        },
    )
    other_id = variations.headers["location"].removeprefix("/runs/")
    with sqlite_console.database.session() as session:
        listed = db.get_job(session, job_id).preset_snapshot["body"]
        varied = db.get_job(session, other_id).preset_snapshot["body"]
    assert [(p["text"], p["negative_prompt"], p["seed"]) for p in listed["prompts"]] == [
        ("A red bag on a table", "blurry", 11),
        ("A blue bag", None, 12),
    ]
    # Kept in the one form it was given, without a null for the other form.
    assert listed["shared_settings"]["dimensions"] == {"width": 512, "height": 512}
    assert varied["variations"]["count"] == 3 and varied["variations"]["prompt"]["text"] == (
        "A mug of tea"
    )


def test_the_ledger_shows_signed_movements_and_no_empty_release(sqlite_console):
    shop = sign_in(sqlite_console, credits=50)
    made = start(sqlite_console, shop.user_id, count=2)
    assert sqlite_console.run_queued() == [made]  # both images made: nothing left to release
    cancelled = start(sqlite_console, shop.user_id, count=3)
    cancel = f"/api/bulk-generation/jobs/{cancelled}/cancel"
    assert shop.client.post(cancel, headers={"X-CSRF-Token": shop.csrf_token}).status_code == 200
    with sqlite_console.database.session() as session:
        kinds = [(e.kind, e.amount) for e in db.ledger_entries(session, user_id=shop.user_id)]
    assert ("release", 0) in kinds  # still booked: it closes the reservation

    page = shop.client.get("/account").text
    ledger = page[page.index('<table id="ledger">') :]
    rows = re.findall(r"<tr><td>.*?</td><td>(\w+).*?</td><td class=\"num\">([^<]+)</td>", ledger)
    assert rows == [
        ("release", "+3"),
        ("reserve", "−3"),
        ("charge", "−2"),
        ("reserve", "−2"),
        ("grant", "+50"),
    ]
