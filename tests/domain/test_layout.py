"""RunLayout: one constructor from a job, and the analytics key it names is the one the
analytics dataset finds."""

from __future__ import annotations

from types import SimpleNamespace

from bulkgen_pipeline.domain.layout import ANALYTICS_PREFIX, RunLayout, is_analytics_key


def test_of_a_job_and_of_its_summary_agree() -> None:
    job = SimpleNamespace(user_id="u1", category="bags", run_id="r1", preset_id="p1")
    summary = {"user_id": "u1", "category": "bags", "job_id": "r1", "preset_id": "p1"}
    assert RunLayout.of(job) == RunLayout.of_summary(summary) == RunLayout("u1", "bags", "r1", "p1")


def test_analytics_key_is_recognised() -> None:
    for preset_id in ("p1", None):
        key = RunLayout("u1", "bags", "r1", preset_id).analytics_key
        assert key.startswith(ANALYTICS_PREFIX)
        assert is_analytics_key(key)
    assert not is_analytics_key("prompt_history/p1/r1/other.json")
    assert not is_analytics_key("prompt_history/p1/r1/x/analytics.json")
    assert not is_analytics_key("u1/bulk_runs/bags/r1/analytics.json")
