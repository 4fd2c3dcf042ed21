"""Inside generated_images: concurrency, live progress counters, cancellation."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Callable

import dagster as dg
import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.definitions import BULK_ASSETS
from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.providers.base import ImageRequest, ImageResult
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.router import ImageRouter
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.runs.generation import IMAGE_NOT_STORED

# What the instrumented provider does before each image; set by each test.
HOOK: dict[str, Callable[[ImageRequest], None]] = {}


class InstrumentedProvider(LocalPreviewProvider):
    name = "instrumented"

    def generate(self, request: ImageRequest) -> ImageResult:
        HOOK["before"](request)
        result = super().generate(request)
        return ImageResult(result.image_bytes, self.name, "instrumented-1", request.seed, 0.0, 1)


class InstrumentedImages(ImageGenerationResource):
    concurrency: int = 1

    def get_router(self) -> ImageRouter:
        return ImageRouter([InstrumentedProvider()], concurrency={"instrumented": self.concurrency})


def test_images_are_generated_concurrently_up_to_the_limit(local_deployment):
    d = local_deployment
    user = d.user()
    run_id = d.queue(user, d.preset(user), count=8)
    lock = threading.Lock()
    state = {"in_flight": 0, "most": 0}

    def slow(_request):
        with lock:
            state["in_flight"] += 1
            state["most"] = max(state["most"], state["in_flight"])
        time.sleep(0.3)
        with lock:
            state["in_flight"] -= 1

    HOOK["before"] = slow
    assert d.materialize(run_id, images=InstrumentedImages(concurrency=4)).success
    # Four images overlapped: the pool is sized by the router's limit, and never exceeds it.
    assert state["most"] == 4


def test_progress_counters_move_as_images_finish(local_deployment):
    d = local_deployment
    user = d.user()
    run_id = d.queue(user, d.preset(user), count=4)
    seen = []

    def record_progress(_request):
        with d.database.session() as session:
            status = db.job_status_dict(session, run_id)
        seen.append((status["status"], status["completed_images"]))

    HOOK["before"] = record_progress
    assert d.materialize(run_id, images=InstrumentedImages(concurrency=1)).success
    # One worker: before image k, exactly k-1 images are counted as completed, while processing.
    assert seen == [("processing", 0), ("processing", 1), ("processing", 2), ("processing", 3)]


def test_cancel_stops_new_generations_and_keeps_finished_ones(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=5)
    calls = []

    def cancel_during_second(_request):
        calls.append(1)
        if len(calls) == 2:
            with d.database.session() as session:
                assert db.request_cancel(session, run_id) == "cancelling"

    HOOK["before"] = cancel_during_second
    result = d.materialize(run_id, images=InstrumentedImages(concurrency=1))
    assert result.success
    assert len(calls) == 2  # nothing new was submitted after the cancel
    job = d.job(run_id)
    assert job["status"] == "cancelled"
    assert (job["completed_images"], job["credits_consumed"]) == (2, 2)
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (8, 0)
    with d.database.session() as session:
        assert len(db.list_img_history(session, run_id)) == 2
        assert db.credit_invariant_violations(session) == []


def test_a_run_launched_after_its_job_was_cancelled_generates_nothing(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=3)
    with d.database.session() as session:
        assert db.request_cancel(session, run_id) == "cancelled"
    calls = []
    HOOK["before"] = calls.append

    result = d.materialize(run_id, images=InstrumentedImages())
    assert not result.success and calls == []
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_failure_data.user_failure_data.description == (
        "Cancelled before any image was generated"
    )
    assert d.job(run_id)["status"] == "cancelled"
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (10, 0)


class FlakyStore:
    """The real store, except that uploads of the named keys fail like a flaky S3."""

    def __init__(self, inner, fail_suffixes: tuple[str, ...]):
        self.inner = inner
        self.fail_suffixes = fail_suffixes

    def put_bytes(self, key, data, content_type="application/octet-stream"):
        if key.endswith(self.fail_suffixes):
            raise ConnectionError("upload interrupted")
        return self.inner.put_bytes(key, data, content_type)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class FailingUploads(ObjectStoreResource):
    fail_suffixes: list[str] = []

    def get_store(self):
        return FlakyStore(super().get_store(), tuple(self.fail_suffixes))


def test_a_failed_upload_fails_that_generation_only(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=3)
    HOOK["before"] = lambda _request: None
    resources = d.resources(InstrumentedImages())
    resources["object_store"] = FailingUploads(
        storage_url=d.storage_url,
        fail_suffixes=["images/generation_2.png"],
        write_retry_seconds=0.5,  # an upload that never works: give up soon
    )
    result = dg.materialize(
        BULK_ASSETS, partition_key=run_id, instance=d.instance, resources=resources
    )
    assert result.success
    job = d.job(run_id)
    assert (job["completed_images"], job["failed_images"], job["credits_consumed"]) == (2, 1, 2)
    with d.database.session() as session:
        item = next(i for i in db.list_items(session, run_id) if i.generation_index == 2)
    assert item.status == "failed"
    assert item.error == IMAGE_NOT_STORED  # a sentence, not an exception's class name


def _immutable(folder, on: bool) -> None:
    """chattr ±i: even root cannot write into an immutable folder (a real refused write)."""
    done = subprocess.run(["chattr", "+i" if on else "-i", str(folder)], capture_output=True)
    if done.returncode != 0:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"chattr failed: {done.stderr!r}")
        pytest.skip(f"this filesystem cannot make a folder immutable: {done.stderr!r}")


def test_a_store_that_refuses_writes_for_a_while_loses_no_image(local_deployment, tmp_path):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=5)
    with d.database.session() as session:
        job = db.get_job(session, run_id)
    images = tmp_path / "storage" / RunLayout.of(job).folder / "images"
    calls = []
    refusing = threading.Event()

    def refuse_writes_for_a_while(_request):
        calls.append(1)
        if len(calls) == 2:  # generation 1 is stored: its folder exists
            _immutable(images, True)
            refusing.set()
            threading.Timer(1.5, _immutable, args=(images, False)).start()

    HOOK["before"] = refuse_writes_for_a_while
    try:
        result = d.materialize(run_id, images=InstrumentedImages(concurrency=1))
    finally:
        _immutable(images, False)
    assert refusing.is_set() and result.success
    job = d.job(run_id)
    assert (job["status"], job["completed_images"], job["failed_images"]) == ("completed", 5, 0)
    assert job["credits_consumed"] == 5 and len(calls) == 5  # no image was paid for twice
    assert sorted(p.name for p in images.iterdir()) == [f"generation_{i}.png" for i in range(1, 6)]


def test_a_contact_sheet_that_cannot_be_stored_does_not_fail_the_run(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=3)
    with d.database.session() as session:
        job = db.get_job(session, run_id)
    layout = RunLayout.of(job)
    # A folder where the contact sheet's file should go: every write of it fails.
    (d.store.root / layout.contact_sheet_key).mkdir(parents=True)
    resources = d.resources()
    resources["object_store"] = ObjectStoreResource(
        storage_url=d.storage_url, write_retry_seconds=0.5
    )
    result = dg.materialize(
        BULK_ASSETS, partition_key=run_id, instance=d.instance, resources=resources
    )
    assert result.success
    job = d.job(run_id)
    assert (job["status"], job["completed_images"], job["credits_consumed"]) == ("completed", 3, 3)
    images = result.asset_materializations_for_node("generated_images")[0]
    assert "contact_sheet" not in images.metadata
    warnings = [
        r.user_message for r in d.instance.all_logs(result.run_id) if r.level == logging.WARNING
    ]
    assert any(m.startswith("No contact sheet for this run") for m in warnings), warnings
