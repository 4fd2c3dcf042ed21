"""A whole bulk run through the real assets on the embedded default (SQLite + local folder)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image

from bulkgen_pipeline import db
from bulkgen_pipeline.db import NothingToRetry
from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.domain.requests import preset_request
from bulkgen_pipeline.runs.control import retry_failed

from .conftest import ScriptedImages


def layout_of(deployment, run_id: str) -> RunLayout:
    with deployment.database.session() as session:
        job = db.get_job(session, run_id)
    return RunLayout.of(job)


def open_zip(deployment, layout: RunLayout) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(deployment.store.get_bytes(layout.zip_key)))


def test_full_run_produces_seed_layout_zip_analytics_and_settles(local_deployment):
    d = local_deployment
    user = d.user(credits=20)
    preset = d.preset(user)
    run_id = d.queue(user, preset)
    assert d.balance(user).credits_reserved == 5

    result = d.materialize(run_id)
    assert result.success
    layout = layout_of(d, run_id)

    names = set(open_zip(d, layout).namelist())
    expected = {f"generation_{i}.png" for i in range(1, 6)} | {
        f"generation_{i}_metadata.json" for i in range(1, 6)
    }
    assert names == expected | {"bulk_generation_summary.json"}
    archive = open_zip(d, layout)
    metadata = json.loads(archive.read("generation_2_metadata.json"))
    assert metadata["generation"] == 2 and metadata["prompt"]
    assert (
        metadata["config"]["material"] == "leather" and metadata["config"]["model_sex"] == "Female"
    )
    assert metadata["attribute_resolution"]["user_specified"]["material"] == "leather"
    assert metadata["preset_metadata"]["preset_id"] == preset
    assert metadata["preset_metadata"]["original_config"]["material"] == "leather"
    assert (
        metadata["provider"] == "local"
        and metadata["seed"] >= 0
        and "latency_seconds" in metadata["timings"]
    )
    with Image.open(io.BytesIO(archive.read("generation_2.png"))) as image:
        assert image.size == (1024, 1024)
    summary = json.loads(archive.read("bulk_generation_summary.json"))
    assert (summary["total_images"], summary["completed_images"], summary["failed_images"]) == (
        5,
        5,
        0,
    )
    assert summary["providers"] == {str(i): "local" for i in range(1, 6)}

    # The object store holds the seed layout, keyed by run id.
    for i in range(1, 6):
        assert d.store.exists(layout.image_key(i)) and d.store.exists(layout.metadata_key(i))
    assert d.store.exists(layout.summary_key)

    analytics = json.loads(d.store.get_bytes(f"prompt_history/{preset}/{run_id}/analytics.json"))
    assert analytics["analytics_version"] == "2.0" and analytics["enhanced_data_available"] is True
    assert analytics["job_id"] == run_id and analytics["user_id"] == user
    assert [g["generation_index"] for g in analytics["generation_results"]] == [1, 2, 3, 4, 5]
    first = analytics["generation_results"][0]
    assert (
        first["s3_zip_path"] == layout.zip_key
        and first["image_filename_in_zip"] == "generation_1.png"
    )
    assert "material" in first["attribute_resolution"]["user_specified"]
    assert "type" in first["attribute_resolution"]["randomly_selected"]

    job = d.job(run_id)
    assert job["status"] == "completed"
    assert (job["completed_images"], job["failed_images"], job["credits_consumed"]) == (5, 0, 5)
    assert job["download_link"] == f"/api/bulk-generation/download/{user}/{run_id}"
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (15, 0)
    with d.database.session() as session:
        history = db.list_img_history(session, run_id)
    assert sorted(h.generation_index for h in history) == [1, 2, 3, 4, 5]

    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "prompts_unique": True,
        "prompts_grammatical": True,
        "images_open_at_requested_size": True,
        "no_near_duplicate_images": True,
        "images_show_their_colour": True,
        "zip_lists_every_success": True,
    }


def test_run_uses_the_preset_as_it_was_when_queued(local_deployment):
    d = local_deployment
    user = d.user()
    preset = d.preset(user)
    run_id = d.queue(user, preset, count=3)
    with d.database.session() as session:
        db.update_preset(session, preset, config={"material": "canvas", "generation_count": 3})
    assert d.materialize(run_id).success
    archive = open_zip(d, layout_of(d, run_id))
    for i in range(1, 4):
        assert (
            json.loads(archive.read(f"generation_{i}_metadata.json"))["config"]["material"]
            == "leather"
        )


def test_failed_generations_are_not_charged_and_are_reported(local_deployment, scripted_calls):
    d = local_deployment
    user = d.user(credits=10)
    preset = d.preset(user)
    run_id = d.queue(user, preset)
    with d.database.session() as session:
        snapshot = db.get_job(session, run_id).preset_snapshot
    specs = preset_request(snapshot["body"]).resolve(run_seed=run_id).generations
    doomed = [specs[1].prompt, specs[3].prompt]

    assert d.materialize(run_id, images=ScriptedImages(fail_prompts=doomed)).success
    job = d.job(run_id)
    assert (
        job["status"],
        job["completed_images"],
        job["failed_images"],
        job["credits_consumed"],
    ) == ("partial", 3, 2, 3)
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (7, 0)
    summary = json.loads(open_zip(d, layout_of(d, run_id)).read("bulk_generation_summary.json"))
    assert sorted(f["generation"] for f in summary["failures"]) == [2, 4]
    assert all("refuses" in f["reason"] for f in summary["failures"])
    assert "generation_2.png" not in open_zip(d, layout_of(d, run_id)).namelist()

    # retry-failed: a new pass on the same partition makes only the two lost images.
    retried = retry_failed(d.database, user_id=user, run_id=run_id)
    assert (retried.status, retried.images_to_retry, retried.pass_number) == ("queued", 2, 1)
    assert d.balance(user).credits_reserved == 2
    scripted_calls.clear()
    assert d.materialize(run_id, images=ScriptedImages()).success
    assert sorted(scripted_calls) == sorted(doomed)
    job = d.job(run_id)
    assert (job["status"], job["completed_images"], job["failed_images"]) == ("completed", 5, 0)
    assert job["credits_consumed"] == 5
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (5, 0)
    names = open_zip(d, layout_of(d, run_id)).namelist()
    assert {f"generation_{i}.png" for i in range(1, 6)} <= set(names)
    analytics = json.loads(d.store.get_bytes(layout_of(d, run_id).analytics_key))
    assert analytics["totals"] == {"generations": 5, "succeeded": 5, "failed": 0}
    with d.database.session() as session:
        assert [h.generation_index for h in db.list_img_history(session, run_id)] == [1, 2, 3, 4, 5]
        ledger = [
            (e.kind, e.amount, e.pass_number) for e in db.ledger_entries(session, run_id=run_id)
        ]
        assert db.credit_invariant_violations(session) == []
    assert ledger == [
        ("reserve", 5, 0),
        ("charge", 3, 0),
        ("release", 2, 0),
        ("reserve", 2, 1),
        ("charge", 2, 1),
        ("release", 0, 1),
    ]
    with pytest.raises(NothingToRetry):
        retry_failed(d.database, user_id=user, run_id=run_id)


def test_reexecution_after_a_crash_regenerates_only_missing_images_and_charges_once(
    local_deployment, scripted_calls
):
    d = local_deployment
    user = d.user(credits=10)
    preset = d.preset(user)
    run_id = d.queue(user, preset)

    crashed = d.materialize(run_id, images=ScriptedImages(crash_after=2))
    assert not crashed.success
    assert len(scripted_calls) == 2  # two images made it to the store before the crash
    assert d.balance(user).credits_balance == 10  # nothing charged by a crashed run

    scripted_calls.clear()
    assert d.materialize(run_id, images=ScriptedImages()).success
    assert len(scripted_calls) == 3  # only the three missing images were generated
    assert d.job(run_id)["credits_consumed"] == 5
    assert (d.balance(user).credits_balance, d.balance(user).credits_reserved) == (5, 0)

    scripted_calls.clear()
    assert d.materialize(run_id, images=ScriptedImages()).success  # a third execution
    assert scripted_calls == []
    assert (d.balance(user).credits_balance, d.balance(user).credits_reserved) == (5, 0)
    with d.database.session() as session:
        assert len(db.list_img_history(session, run_id)) == 5
        assert db.credit_invariant_violations(session) == []


def test_a_run_where_nothing_succeeds_fails_with_the_seed_message(local_deployment, scripted_calls):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user))
    result = d.materialize(run_id, images=ScriptedImages(fail_prompts=["*"]))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert (
        failure.step_failure_data.user_failure_data.description
        == "No images were generated successfully"
    )


def test_reexecuting_a_settled_run_regenerates_nothing_and_keeps_the_records_in_step(
    local_deployment, scripted_calls
):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=4)
    with d.database.session() as session:
        snapshot = db.get_job(session, run_id).preset_snapshot
    doomed = preset_request(snapshot["body"]).resolve(run_seed=run_id).generations[0].prompt
    assert d.materialize(run_id, images=ScriptedImages(fail_prompts=[doomed])).success
    zip_before = open_zip(d, layout_of(d, run_id)).namelist()

    scripted_calls.clear()
    assert d.materialize(run_id, images=ScriptedImages()).success  # the provider works now
    assert scripted_calls == []  # the failed generation was not made for free
    assert open_zip(d, layout_of(d, run_id)).namelist() == zip_before
    job = d.job(run_id)
    assert (job["completed_images"], job["failed_images"], job["credits_consumed"]) == (3, 1, 3)
    assert d.balance(user).credits_balance == 7


def test_crash_then_failure_handling_then_reexecution_charges_once_from_the_balance(
    local_deployment, scripted_calls
):
    from bulkgen_pipeline.definitions import build_definitions
    from bulkgen_pipeline.jobs.in_process import execute_bulk_run

    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=4)
    crashing = build_definitions(d.resources(ScriptedImages(crash_after=1)))
    failed = execute_bulk_run(
        run_id, definitions=crashing, database=d.database, instance=d.instance
    )
    assert failed["status"] == "failed"
    assert (d.balance(user).credits_balance, d.balance(user).credits_reserved) == (10, 0)

    scripted_calls.clear()
    healthy = build_definitions(d.resources(ScriptedImages()))
    done = execute_bulk_run(run_id, definitions=healthy, database=d.database, instance=d.instance)
    assert (done["status"], done["credits_consumed"]) == ("completed", 4)
    assert len(scripted_calls) == 3  # the image stored before the crash was kept
    assert (d.balance(user).credits_balance, d.balance(user).credits_reserved) == (6, 0)
    with d.database.session() as session:
        assert db.credit_invariant_violations(session) == []
