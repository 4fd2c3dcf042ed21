"""The run page in headless Chromium marks the two tiles of a near-duplicate pair and says of
each image whether it shows the colour its generation asked for."""

from __future__ import annotations

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.requests import request_from_snapshot
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.queueing import start_run

from ..pipeline.test_image_inspection import MisbehavingImages
from .conftest import sign_in
from .test_console_browser import browser_sign_in


def test_the_run_page_marks_alike_tiles_and_colours_not_shown(browser, sqlite_console):
    console = sqlite_console
    shop = sign_in(console, credits=20)
    document = {
        "name": "Red totes",
        "category": "bags",
        "config": {"generation_count": 3, "color_palette": ["#C00000"]},
    }
    preset_id = create_preset(console.database, shop.user_id, document)
    job_id = start_run(console.database, user_id=shop.user_id, preset_id=preset_id).job_id
    [request] = console.tick()
    with console.database.session() as session:
        snapshot = db.get_job(session, job_id).preset_snapshot
    prompts = [
        g.prompt for g in request_from_snapshot(snapshot).resolve(run_seed=job_id).generations
    ]
    # Image 3 is image 1's picture again, and image 2 is painted blue.
    console.run(
        request.partition_key,
        MisbehavingImages(copies={prompts[2]: prompts[0]}, recolour={prompts[1]: "#0030C0"}),
    )

    context, page, errors = browser_sign_in(browser, console, shop.api_key)
    page.goto(f"{console.base_url}/runs/{job_id}")
    alike = page.locator(".tile.near-duplicate")
    assert alike.count() == 2
    assert page.locator("#tile-1 .tile-alike").inner_text() == "Looks like #3"
    assert page.locator("#tile-3 .tile-alike").inner_text() == "Looks like #1"
    assert page.locator("#tile-2.near-duplicate").count() == 0
    assert "colour not shown" in page.locator("#tile-2 .tile-colour").inner_text()
    assert "shows its colour" in page.locator("#tile-1 .tile-colour").inner_text()
    page.click("#tile-1 .tile-alike a")
    assert page.url.endswith("#tile-3")
    assert errors == []
    context.close()
