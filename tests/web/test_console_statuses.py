"""The console's status sets come from the server: the run page carries them as JSON rendered
from the enums, and console.js spells no status of its own, so a new status needs no change in
the script or the stylesheet."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import bulkgen_pipeline.web as web
from bulkgen_pipeline.domain.statuses import (
    RETRYABLE_JOB_STATUSES,
    ItemStatus,
    JobStatus,
)
from bulkgen_pipeline.web.pages import STATUS_TONES

from .conftest import sign_in
from .test_console_security import start

STATIC = Path(web.__file__).parent / "static"
BLOB = re.compile(r'<script type="application/json" id="console-statuses">(.*?)</script>', re.S)


def test_the_run_page_carries_the_status_sets_of_the_enums(sqlite_console):
    shop = sign_in(sqlite_console)
    job_id = start(sqlite_console, shop.user_id)
    page = shop.client.get(f"/runs/{job_id}").text
    statuses = json.loads(html.unescape(BLOB.search(page).group(1)))
    assert set(statuses["final"]) == {s.value for s in JobStatus if s.is_final}
    assert set(statuses["retryable"]) == {s.value for s in RETRYABLE_JOB_STATUSES}
    assert set(statuses["tiles"]) == {s.value for s in ItemStatus}
    assert statuses["item_failed"] == ItemStatus.FAILED
    assert set(statuses["tones"]) <= {s.value for s in JobStatus}
    assert 'class="badge status-queued tone-busy"' in page


def test_console_js_spells_no_status_and_the_css_styles_every_tone():
    script = (STATIC / "console.js").read_text()
    for status in {*JobStatus, *ItemStatus}:
        for quote in ('"', "'", "`"):
            assert f"{quote}{status.value}{quote}" not in script, status
    css = (STATIC / "console.css").read_text()
    for tone in set(STATUS_TONES.values()):
        assert f".tone-{tone} " in css, tone
    assert ".status-" not in css  # styled by tone only
