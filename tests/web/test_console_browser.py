"""The console end to end in headless Chromium (Debian's, driven by Playwright): sign in,
create a preset, start it from the play button's modal, watch its tiles turn done while the
run executes as the daemon would run it, download the ZIP, cancel a running run, retry a
failed image, and meet the not-found page for another merchant's run. Usable at 375 px and
from the keyboard. Screenshots of every page go to the test's tmp dir;
BULKGEN_UPDATE_SCREENSHOT=1 also copies the presets, run and account pages to docs/ (the
README's pictures).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.requests import request_from_snapshot

from ..pipeline.conftest import ScriptedImages
from .conftest import sign_in
from .test_console_security import start

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOCS_SCREENSHOTS = {
    "presets": "console_presets.png",
    "run": "console_run.png",
    "account": "console_account.png",
}
WAIT_MS = 60_000
# Chromium logs a page answered with an error status; the form page with problems is one.
EXPECTED_STATUS = re.compile(r"status of 422 ")


def watch_console(page) -> list[str]:
    """Errors the page's scripts log (CSP refusals, failed fetches, exceptions)."""
    errors: list[str] = []

    def seen(message) -> None:
        if message.type == "error" and not EXPECTED_STATUS.search(message.text):
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


class Shots:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def take(self, page, name: str) -> None:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if name in DOCS_SCREENSHOTS and os.environ.get("BULKGEN_UPDATE_SCREENSHOT") == "1":
            shutil.copyfile(path, DOCS / DOCS_SCREENSHOTS[name])


def in_background(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def browser_sign_in(browser, console, api_key: str, **context_options):
    context = browser.new_context(accept_downloads=True, **context_options)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(console.base_url + "/presets")
    assert page.url.endswith("/signin?next=/presets")
    page.fill("#api_key", api_key)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/presets")
    return context, page, errors


def test_a_merchant_runs_a_preset_end_to_end(browser, sqlite_console, tmp_path, monkeypatch):
    monkeypatch.setenv("BULKGEN_LOCAL_CONCURRENCY", "1")
    monkeypatch.setenv("BULKGEN_LOCAL_SECONDS_PER_IMAGE", "1.0")
    console = sqlite_console
    merchant = console.merchant(credits=40, name="Acme Bags")
    shots = Shots(tmp_path / "screenshots")
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors = watch_console(page)

    page.goto(console.base_url + "/")
    page.wait_for_url("**/signin*")
    shots.take(page, "signin")
    page.fill("#api_key", merchant.api_key)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/presets")

    # Create a preset; the validator's complaint shows next to its field.
    page.click("text=New preset")
    page.fill("#name", "Professional Bags")
    page.select_option("#attr-material", "leather")
    page.select_option("#attr-style", "minimalist")
    page.check("#use_model")
    page.select_option("#model-model_sex", "Female")
    for colour in ("#c00000", "#1f4e79"):
        page.click("#add-colour")
        page.locator("#palette input[type=color]").last.fill(colour)
    page.fill("#generation_count", "80")
    page.click("button:has-text('Create preset')")
    problem = page.locator("#generation_count ~ .field-error")
    assert "less than or equal to 50" in problem.inner_text()
    shots.take(page, "preset_form_error")
    page.fill("#generation_count", "3")
    page.click("button:has-text('Create preset')")
    page.wait_for_url("**/presets")
    card = page.locator(".card.preset", has_text="Professional Bags")
    assert "bags" in card.inner_text() and "combinations" in card.locator(".space").inner_text()
    assert "never" in card.inner_text()
    shots.take(page, "presets_created")

    # Play → the modal shows the preset and the credits → start → its run, with a dismissible
    # flash.
    card.locator("button.play").click()
    modal = card.locator("dialog[open]")
    assert modal.is_visible()
    text = modal.inner_text()
    assert "leather" in text and "Credits needed: 3" in text and "available: 40" in text
    modal.locator("input[name=generation_count]").fill("4")
    assert "Credits needed: 4" in modal.inner_text()
    modal.locator("input[name=generation_count]").fill("3")
    shots.take(page, "start_modal")
    modal.locator("button:has-text('Start run')").click()
    page.wait_for_url("**/runs/*")
    flash = page.locator("[data-flash]")
    job_id = flash.locator("code.job-id").inner_text()
    assert "Run started" in flash.inner_text() and page.url.endswith(f"/runs/{job_id}")
    flash.locator("[data-dismiss]").click()
    assert page.locator("[data-flash]").count() == 0

    # The run page follows the run live: no reload, tiles go from waiting to done.
    page.goto(f"{console.base_url}/runs/{job_id}")
    assert page.locator(".tile.state-waiting").count() == 3
    page.evaluate("window.__sameDocument = true")
    runner = in_background(console.run_queued)
    page.wait_for_function(
        "() => document.querySelectorAll('.tile.state-done').length >= 1 && "
        "document.querySelectorAll('.tile.state-done').length < 3",
        timeout=WAIT_MS,
    )
    page.wait_for_function(
        "() => document.querySelectorAll('.tile.state-done').length === 3", timeout=WAIT_MS
    )
    runner.join(timeout=WAIT_MS / 1000)
    page.wait_for_function(
        "() => document.getElementById('run-status').textContent === 'completed'", timeout=WAIT_MS
    )
    assert page.evaluate("window.__sameDocument") is True
    assert page.locator("#run-counts").inner_text() == "3 of 3 done"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.tile img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#cancel-form").is_hidden()
    first = page.locator(".tile").first
    first.locator("summary").click()
    details = first.locator("details").inner_text()
    assert "random" in details and "fixed" in details and "leather" in details
    shots.take(page, "run")
    with page.expect_download() as download_info:
        page.click("#download")
    saved = tmp_path / "run.zip"
    download_info.value.save_as(saved)
    names = zipfile.ZipFile(saved).namelist()
    assert {"generation_1.png", "generation_2.png", "generation_3.png"} <= set(names)
    assert "bulk_generation_summary.json" in names

    # Runs list, account and batch pages.
    page.goto(console.base_url + "/runs")
    assert page.locator(".run-row .badge").first.inner_text() == "completed"
    shots.take(page, "runs")
    page.goto(console.base_url + "/presets")
    assert "completed" in page.locator(".card.preset").first.inner_text()  # its last run
    shots.take(page, "presets")
    page.goto(console.base_url + "/account")
    assert page.locator("#balance").inner_text() == "37"
    # Newest first; the run used all it reserved, so its release of nothing is not shown.
    amounts = page.locator("#ledger tbody td.num").all_inner_texts()
    assert amounts == ["−3", "−3", "+40"]  # charge, reserve, grant
    shots.take(page, "account")
    page.goto(console.base_url + "/batch")
    page.click("#add-row")
    assert page.locator(".prompt-row").count() == 2
    page.locator(".prompt-row").last.locator("[data-remove-row]").click()
    assert page.locator(".prompt-row").count() == 1
    shots.take(page, "batch")
    assert errors == []
    context.close()


def test_cancel_and_retry_from_the_run_page(browser, sqlite_console, tmp_path, monkeypatch):
    monkeypatch.setenv("BULKGEN_LOCAL_CONCURRENCY", "1")
    monkeypatch.setenv("BULKGEN_LOCAL_SECONDS_PER_IMAGE", "1.5")
    console = sqlite_console
    shots = Shots(tmp_path / "screenshots")
    shop = sign_in(console, credits=40)
    context, page, errors = browser_sign_in(browser, console, shop.api_key)

    # Cancel a run while it is running.
    running = start(console, shop.user_id, name="Long run", count=6)
    page.goto(f"{console.base_url}/runs/{running}")
    runner = in_background(console.run_queued)
    page.wait_for_function(
        "() => document.querySelectorAll('.tile.state-done').length >= 1", timeout=WAIT_MS
    )
    page.click("#cancel-form button")
    page.wait_for_url(f"**/runs/{running}")
    assert "Cancel requested" in page.locator("[data-flash]").inner_text()
    runner.join(timeout=WAIT_MS / 1000)
    page.wait_for_function(
        "() => document.getElementById('run-status').textContent === 'cancelled'", timeout=WAIT_MS
    )
    done = page.locator(".tile.state-done").count()
    assert 1 <= done < 6
    assert page.locator(".tile.state-waiting").count() == 6 - done
    shots.take(page, "run_cancelled")

    # Retry the one image the provider refused.
    partial = start(console, shop.user_id, name="Flaky run", count=3)
    [request] = console.tick()
    with console.database.session() as session:
        snapshot = db.get_job(session, partial).preset_snapshot
    doomed = request_from_snapshot(snapshot).resolve(run_seed=partial).generations[1].prompt
    monkeypatch.setenv("BULKGEN_LOCAL_SECONDS_PER_IMAGE", "0")
    console.run(request.partition_key, ScriptedImages(fail_prompts=[doomed]))
    page.goto(f"{console.base_url}/runs/{partial}")
    failed = page.locator(".tile.state-failed")
    assert failed.count() == 1 and failed.get_attribute("data-index") == "2"
    assert "refuses" in failed.locator(".tile-error").inner_text()
    assert page.locator("#run-status").inner_text() == "partial"
    shots.take(page, "run_partial")
    page.click("#retry-form button")
    page.wait_for_url(f"**/runs/{partial}")
    assert "Retrying 1 failed image" in page.locator("[data-flash]").inner_text()
    assert page.locator("#run-status").inner_text() == "queued"
    runner = in_background(console.run_queued)
    page.wait_for_function(
        "() => document.querySelectorAll('.tile.state-done').length === 3", timeout=WAIT_MS
    )
    runner.join(timeout=WAIT_MS / 1000)
    page.wait_for_function(
        "() => document.getElementById('run-status').textContent === 'completed'", timeout=WAIT_MS
    )
    assert page.locator("#retry-form").is_hidden() and page.locator("#download").is_visible()

    assert errors == []

    # Another merchant's run id: the not-found page, nothing of theirs.
    other = console.merchant(credits=5, name="Other shop")
    theirs = start(console, other.user_id, name="Their secret run", count=1)
    response = page.goto(f"{console.base_url}/runs/{theirs}")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert "Their secret run" not in page.content()
    shots.take(page, "not_found")
    context.close()


def test_usable_at_375_px_and_from_the_keyboard(browser, sqlite_console, tmp_path):
    console = sqlite_console
    shots = Shots(tmp_path / "screenshots")
    shop = sign_in(console, credits=20)
    job_id = start(console, shop.user_id, name="A preset with a rather long name", count=2)
    context, page, errors = browser_sign_in(
        browser, console, shop.api_key, viewport={"width": 375, "height": 740}
    )
    for path in ("/presets", "/presets/new", "/batch", "/runs", f"/runs/{job_id}", "/account"):
        page.goto(console.base_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide at 375"
        name = "mobile_" + (re.sub(r"[^a-z]+", "_", path.strip("/")) or "home")[:20]
        shots.take(page, name)

    # From the keyboard: Tab to the play button, Enter opens the modal, Escape closes it.
    page.goto(console.base_url + "/presets")
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('play')"):
            break
    else:
        pytest.fail("the play button cannot be reached with Tab")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    assert dialog.count() == 1
    assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    assert page.locator("dialog[open]").count() == 0
    assert errors == []
    context.close()
