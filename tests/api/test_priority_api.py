"""A start's priority over HTTP: a strict enum, stored with the job and shown on its run."""

from __future__ import annotations

import pytest

from bulkgen_pipeline import db


@pytest.mark.parametrize("priority", ["urgent", "HIGH", 1, None, ""])
def test_an_unknown_priority_is_refused_naming_the_field(sqlite_api, priority):
    shop = sqlite_api.merchant()
    answer = shop.start(shop.preset(generation_count=1), priority=priority)
    assert answer.status_code == 422, answer.text
    assert "priority" in [p["field"] for p in answer.json()["problems"]]
    assert shop.client.get("/api/me").json()["credits"]["reserved"] == 0


def test_a_high_priority_start_and_batch_are_queued_as_such(sqlite_api):
    shop = sqlite_api.merchant(credits=10)
    high = shop.start(shop.preset(generation_count=1), priority="high")
    normal = shop.start(shop.preset(generation_count=1))
    batch = shop.client.post(
        "/api/batches", json={"prompts": [{"text": "a red tote"}], "priority": "high"}
    )
    assert {high.status_code, normal.status_code, batch.status_code} == {202}, batch.text
    with sqlite_api.database.session() as session:
        jobs = [db.get_job(session, answer.json()["job_id"]) for answer in (high, normal, batch)]
    assert [job.priority for job in jobs] == ["high", "normal", "high"]
    # The batch's priority is a start option, not part of the prompt batch it froze.
    assert "priority" not in jobs[2].preset_snapshot["body"]
