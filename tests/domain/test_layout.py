"""RunLayout: one constructor from a job, and the analytics key it names is the one the
analytics dataset finds."""

from __future__ import annotations

from types import SimpleNamespace

from bulkgen_pipeline.domain.layout import ANALYTICS_PREFIX, RunLayout, is_analytics_key


def test_of_a_job_and_of_its_summary_agree() -> None:
    job = SimpleNamespace(
        user_id="u1", category="bags", run_id="r1", preset_id="p1", size_labels=("1024x1024",)
    )
    summary = {"user_id": "u1", "category": "bags", "job_id": "r1", "preset_id": "p1"}
    assert RunLayout.of(job).zip_key == RunLayout.of_summary(summary).zip_key
    assert RunLayout.of(job).image_key(3) == RunLayout("u1", "bags", "r1", "p1").image_key(3)


def test_analytics_key_is_recognised() -> None:
    for preset_id in ("p1", None):
        key = RunLayout("u1", "bags", "r1", preset_id).analytics_key
        assert key.startswith(ANALYTICS_PREFIX)
        assert is_analytics_key(key)
    assert not is_analytics_key("prompt_history/p1/r1/other.json")
    assert not is_analytics_key("prompt_history/p1/r1/x/analytics.json")
    assert not is_analytics_key("u1/bulk_runs/bags/r1/analytics.json")


def test_one_size_names_images_as_before_several_sizes_by_generation_and_size() -> None:
    one = RunLayout("u1", "bags", "r1", "p1", ("1024x1024",))
    assert one.image_key(4) == "u1/bulk_runs/bags/r1/images/generation_4.png"
    assert one.metadata_filename(4) == "generation_4_metadata.json"
    several = RunLayout("u1", "bags", "r1", "p1", ("16x9", "1024x1024", "1x1"))
    # image 5 of a run in 3 sizes: generation 2 in its second size
    assert several.image_key(5) == "u1/bulk_runs/bags/r1/images/generation_2_1024x1024.png"
    assert several.metadata_key(5) == "u1/bulk_runs/bags/r1/metadata/generation_2_1024x1024.json"
    assert several.image_filename(1) == "generation_1_16x9.png"
    assert several.image_filename(6) == "generation_2_1x1.png"
    names = {several.image_filename(i) for i in range(1, 13)}
    assert len(names) == 12  # every image of 4 generations × 3 sizes has its own name
