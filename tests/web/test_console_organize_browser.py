"""Bulk actions in the console, in headless Chromium: tick runs to tag or delete them, tick
images on a run page to download them as one ZIP."""

from __future__ import annotations

import zipfile

from .conftest import sign_in
from .test_console_browser import browser_sign_in
from .test_console_security import start


def test_tick_runs_to_tag_and_delete_and_images_to_download(browser, sqlite_console, tmp_path):
    console = sqlite_console
    shop = sign_in(console, credits=30)
    first = start(console, shop.user_id, name="First", count=3)
    second = start(console, shop.user_id, name="Second", count=1)
    assert sorted(console.run_queued()) == sorted([first, second])
    context, page, errors = browser_sign_in(browser, console, shop.api_key)

    page.goto(console.base_url + "/runs")
    for run_id in (first, second):
        page.check(f"input[name=run_ids][value='{run_id}']")
    page.fill("#bulk-tags", "spring, bags")
    page.click("button:has-text('Tag ticked')")
    page.wait_for_url("**/runs")
    assert "Tagged 2 run(s)" in page.locator("[data-flash]").inner_text()
    page.locator(f"[data-run-id='{first}'] a.tag", has_text="spring").click()
    page.wait_for_url("**/runs?tag=spring")
    assert page.locator(".run-row").count() == 2

    page.goto(f"{console.base_url}/runs/{first}")
    page.check(f"input[name=image][value='{first}:1']")
    page.check(f"input[name=image][value='{first}:3']")
    with page.expect_download() as download:
        page.click("button:has-text('Download ticked images')")
    saved = tmp_path / "export.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        assert sorted(n for n in bundle.namelist() if n.endswith(".png")) == [
            f"{first}/generation_1.png",
            f"{first}/generation_3.png",
        ]

    page.goto(console.base_url + "/runs")
    page.check(f"input[name=run_ids][value='{second}']")
    page.click("button:has-text('Delete ticked')")
    page.wait_for_url("**/runs")
    assert "Deleted the files of 1 run(s)" in page.locator("[data-flash]").inner_text()
    assert page.locator(f"[data-run-id='{second}']").count() == 0
    assert errors == []
    context.close()


def test_forged_bulk_actions_touch_nothing_of_another_merchant(sqlite_console):
    console = sqlite_console
    owner, other = sign_in(console, credits=10), sign_in(console, name="Other")
    run = start(console, owner.user_id, count=1)
    assert console.run_queued() == [run]
    tagged = other.client.post(
        "/runs/tag", data={"csrf_token": other.csrf_token, "run_ids": run, "tags": "mine"}
    )
    assert tagged.status_code == 404
    exported = other.client.post(
        "/exports", data={"csrf_token": other.csrf_token, "image": f"{run}:1"}
    )
    assert exported.status_code == 404
    other.client.post("/runs/delete", data={"csrf_token": other.csrf_token, "run_ids": run})
    assert owner.client.get(f"/api/bulk-generation/jobs/{run}/status").json()["download_link"]
