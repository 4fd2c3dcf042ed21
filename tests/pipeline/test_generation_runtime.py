"""Inside generated_images: concurrency, live progress counters, cancellation."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bulkgen_pipeline import db
from bulkgen_pipeline.providers.base import ImageRequest, ImageResult
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.router import ImageRouter
from bulkgen_pipeline.resources.images import ImageGenerationResource

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
