"""generate_images under provider faults: the second pass, through the real replicate SDK
against the fake server (tests/fakes), with backoff delays shrunk through settings."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.domain.specs import GenerationSpec
from bulkgen_pipeline.providers.base import ImageRequest, ImageResult
from bulkgen_pipeline.providers.router import ImageRouter, build_router
from bulkgen_pipeline.providers.settings import ProviderSettings
from bulkgen_pipeline.runs.generation import generate_images
from bulkgen_pipeline.runs.packaging import GenerationOutcome, RunContext
from bulkgen_pipeline.storage.local import LocalObjectStore
from tests.fakes.replicate_server import FakeReplicate

RATIOS = ["1:1", "16:9", "4:5", "3:2", "9:16"]


class RecordingTracker:
    """The tracker protocol in memory: what the database tracker would be told, in order."""

    def __init__(self) -> None:
        self.started_generations: list[int] = []
        self.finished_outcomes: list[GenerationOutcome] = []
        self.stop = False
        self._lock = threading.Lock()

    def started(self, generation: int) -> None:
        with self._lock:
            self.started_generations.append(generation)

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None:
        assert (object_key is not None) == outcome.succeeded
        with self._lock:
            self.finished_outcomes.append(outcome)

    def should_stop(self) -> bool:
        return self.stop


@pytest.fixture
def fake() -> Iterator[FakeReplicate]:
    with FakeReplicate() as server:
        yield server


def router_for(fake: FakeReplicate, **overrides: str) -> ImageRouter:
    """The production router over the real replicate SDK, pointed at the fake; only the
    waits are shrunk (a 429's `Retry-After: 1` is honoured up to 0.01 s, and the create rate
    limit of 10/s is lifted)."""
    env = {
        "BULKGEN_PROVIDERS": "replicate",
        "REPLICATE_API_TOKEN": fake.token,
        "REPLICATE_BASE_URL": fake.base_url,
        "BULKGEN_REPLICATE_POLL_SECONDS": "0.01",
        "BULKGEN_PROVIDER_TIMEOUT_SECONDS": "5",
        "BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS": "0.01",
        "BULKGEN_PROVIDER_BACKOFF_MAX_SECONDS": "0.05",
        "BULKGEN_PROVIDER_MAX_RETRY_AFTER_SECONDS": "0.01",
        "BULKGEN_REPLICATE_CREATES_PER_MINUTE": "100000",
        **overrides,
    }
    return build_router(ProviderSettings.from_env(env))


def make_specs(count: int, prompts: dict[int, str] | None = None) -> list[GenerationSpec]:
    prompts = prompts or {}
    return [
        GenerationSpec(
            generation=g,
            prompt=prompts.get(g, f"studio photo of a leather tote bag, variant {g}"),
            seed=1000 + g,
            config={},
            attribute_resolution={},
            dimensions={"aspect_ratio": RATIOS[g % len(RATIOS)]},
        )
        for g in range(1, count + 1)
    ]


def context(run_id: str) -> RunContext:
    return RunContext(RunLayout("user-1", "bags", run_id, "preset-1"), "faults", {})


def counted(router: ImageRouter) -> tuple[Callable[[ImageRequest], ImageResult], Counter[int]]:
    """router.generate, counting the passes each image (by seed) went through."""
    passes: Counter[int] = Counter()
    lock = threading.Lock()

    def generate(request: ImageRequest) -> ImageResult:
        with lock:
            passes[request.seed - 1000] += 1
        return router.generate(request)

    return generate, passes


def stored_attempts(store: LocalObjectStore, run: RunContext, generation: int) -> int:
    metadata = json.loads(store.get_bytes(run.layout.metadata_key(generation)))
    return metadata["timings"]["attempts"]


def test_no_image_is_lost_in_ten_runs_of_30_with_20_percent_500s_and_10_percent_429s(
    tmp_path: Path,
) -> None:
    store = LocalObjectStore(tmp_path)
    second_passes = 0
    injected: Counter[int] = Counter()
    for run_number in range(10):
        with FakeReplicate() as fake:
            fake.inject_faults(server_errors=0.2, rate_limits=0.1, seed=run_number)
            router = router_for(fake)  # a fresh router per run, as each run is its own process
            generate, passes = counted(router)
            run = context(f"run-{run_number}")
            tracker = RecordingTracker()
            outcomes, reused = generate_images(
                make_specs(30),
                generate=generate,
                store=store,
                run=run,
                tracker=tracker,
                max_workers=router.max_parallel,
            )

            assert [o.generation for o in outcomes if not o.succeeded] == [], run_number
            assert (len(outcomes), reused) == (30, 0)
            images = [k for k in store.list_keys(run.layout.folder) if k.endswith(".png")]
            assert len(images) == 30
            # Every create is accounted for in exactly one image's attempts, both passes
            # included, and the metadata says the same.
            assert sum(o.attempts for o in outcomes) == fake.counts["create"]
            assert all(stored_attempts(store, run, o.generation) == o.attempts for o in outcomes)
            assert sorted(o.generation for o in tracker.finished_outcomes) == list(range(1, 31))
            # Random 5xx did not rest the provider.
            assert router.lane("replicate").breaker.times_opened == 0
            second_passes += sum(1 for n in passes.values() if n == 2)
            injected += fake.failures.injected
    # The faults were really there: about 20 % and 10 % of some 420 creates.
    assert injected[500] >= 60 and injected[429] >= 30
    # Some images spent all 3 attempts on 500s in their first pass: the second pass made them.
    assert second_passes >= 1


def test_a_transient_failure_gets_a_second_pass_and_a_refusal_does_not(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path)
    router = router_for(
        fake, BULKGEN_REPLICATE_CONCURRENCY="1", BULKGEN_PROVIDER_MAX_ATTEMPTS="1"
    )  # one at a time, in order: generation 1 meets the 500
    fake.failures.fail_next(1, 500)
    fake.blocked_words = {"forbidden"}
    generate, passes = counted(router)
    run = context("run-mixed")
    tracker = RecordingTracker()
    outcomes, _ = generate_images(
        make_specs(4, {3: "a forbidden bag"}),
        generate=generate,
        store=store,
        run=run,
        tracker=tracker,
        max_workers=router.max_parallel,
    )

    by_generation = {o.generation: o for o in outcomes}
    assert [by_generation[g].succeeded for g in (1, 2, 3, 4)] == [True, True, False, True]
    assert passes == {1: 2, 2: 1, 3: 1, 4: 1}
    assert by_generation[1].attempts == 2 == stored_attempts(store, run, 1)
    blocked = by_generation[3]
    assert blocked.attempts == 1 and "safety filter blocked" in str(blocked.error)
    assert "both passes" not in str(blocked.error)
    assert fake.counts["create"] == 5
    # One start and one final outcome per generation; the retried one is recorded last.
    assert tracker.started_generations == [1, 2, 3, 4]
    assert [o.generation for o in tracker.finished_outcomes] == [2, 3, 4, 1]


def test_an_image_failing_both_passes_records_both_passes_attempts(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    fake.failures.down_status = 503
    router = router_for(
        fake,
        BULKGEN_REPLICATE_CONCURRENCY="1",
        BULKGEN_PROVIDER_MAX_ATTEMPTS="2",
        BULKGEN_BREAKER_REST_SECONDS="0.05",
    )
    tracker = RecordingTracker()
    outcomes, _ = generate_images(
        make_specs(3),
        generate=router.generate,
        store=LocalObjectStore(tmp_path),
        run=context("run-down"),
        tracker=tracker,
        max_workers=router.max_parallel,
    )
    assert [o.succeeded for o in outcomes] == [False] * 3
    assert [o.attempts for o in outcomes] == [4, 4, 4]  # 2 attempts in each pass
    assert fake.counts["create"] == 12
    assert all("HTTP 503" in str(o.error) for o in outcomes)
    assert all(str(o.error).endswith("(failed on both passes)") for o in outcomes)
    assert len(tracker.finished_outcomes) == 3


def test_a_cancel_before_the_second_pass_records_the_first_failure(
    fake: FakeReplicate, tmp_path: Path
) -> None:
    router = router_for(fake, BULKGEN_REPLICATE_CONCURRENCY="1", BULKGEN_PROVIDER_MAX_ATTEMPTS="1")
    fake.failures.fail_next(1, 500)
    tracker = RecordingTracker()

    def generate(request: ImageRequest) -> ImageResult:
        try:
            return router.generate(request)
        finally:
            if request.seed == 1003:  # the last image of the first pass: cancel now
                tracker.stop = True

    outcomes, _ = generate_images(
        make_specs(3),
        generate=generate,
        store=LocalObjectStore(tmp_path),
        run=context("run-cancel"),
        tracker=tracker,
        max_workers=router.max_parallel,
    )
    first = outcomes[0]
    assert (first.generation, first.succeeded, first.attempts) == (1, False, 1)
    assert "HTTP 500" in str(first.error) and "both passes" not in str(first.error)
    assert [o.succeeded for o in outcomes[1:]] == [True, True]
    assert fake.counts["create"] == 3  # no second pass after the cancel
    assert [o.generation for o in tracker.finished_outcomes] == [2, 3, 1]
