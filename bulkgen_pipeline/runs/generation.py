"""Generating a run's images: concurrent, each stored on arrival, resumable after a crash.

An image counts as done once both its PNG and its metadata JSON are in the object store (the
metadata is written second), so a re-execution regenerates only what is missing. Progress and
cancellation go through a tracker the caller supplies (the asset backs it with the database).

Images the providers failed to make for a passing reason (an outage, rate limits, a resting
provider, the image's deadline) get a second pass, queued behind every first pass, before the
step returns and the run settles; images every provider refused (bad input, a safety block)
do not.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Protocol

from ..domain.specs import GenerationSpec
from ..providers.base import GenerationFailed, ImageRequest, ImageResult
from ..storage.base import ObjectStore
from .packaging import GenerationOutcome, RunContext, image_metadata

log = logging.getLogger(__name__)

# What a merchant reads for a generation that failed on our side (never an exception's class).
IMAGE_NOT_STORED = "the image was made but the store kept refusing it; retry the job to make it"
PROVIDER_CRASHED = "the image provider failed unexpectedly; retry the job to make it"


class GenerationTracker(Protocol):
    def started(self, generation: int) -> None: ...

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None: ...

    def should_stop(self) -> bool:
        """True once no new generation may start: a cancel was requested, or the run is settled
        already (its outputs are final and charged; a re-execution must not add to them)."""


def request_for(spec: GenerationSpec) -> ImageRequest:
    dimensions = spec.dimensions
    return ImageRequest(
        prompt=spec.prompt,
        seed=spec.seed,
        width=dimensions.get("width"),
        height=dimensions.get("height"),
        aspect_ratio=dimensions.get("aspect_ratio"),
        negative_prompt=spec.negative_prompt,
        key_attributes=dict(spec.key_attributes),
        model=spec.model_choice.get("model"),
        steps=spec.model_choice.get("steps"),
        guidance_scale=spec.model_choice.get("guidance_scale"),
        color=spec.config.get("color") or None,
    )


def stored_generations(
    store: ObjectStore, run: RunContext, specs: list[GenerationSpec]
) -> set[int]:
    """Generations whose PNG and metadata are both stored, found with one folder listing.

    One listing rather than two existence checks per generation: on S3 that is one request
    instead of a hundred for a 50-image run.
    """
    layout = run.layout
    present = set(store.list_keys(layout.folder))
    return {
        spec.generation
        for spec in specs
        if layout.image_key(spec.generation) in present
        and layout.metadata_key(spec.generation) in present
    }


def _outcome_from_metadata(
    store: ObjectStore, run: RunContext, generation: int
) -> GenerationOutcome:
    metadata = json.loads(store.get_bytes(run.layout.metadata_key(generation)))
    timings = metadata.get("timings", {})
    return GenerationOutcome(
        generation,
        True,
        provider=metadata.get("provider"),
        model=metadata.get("model"),
        attempts=timings.get("attempts", 1),
        latency_seconds=timings.get("latency_seconds"),
    )


def stored_outcomes(
    store: ObjectStore, run: RunContext, specs: list[GenerationSpec]
) -> dict[int, GenerationOutcome]:
    """Outcomes of the generations an earlier attempt finished, read from their metadata.

    Resuming reads the metadata rather than the database: an attempt may have stored an image
    and died before recording it.
    """
    return {
        generation: _outcome_from_metadata(store, run, generation)
        for generation in sorted(stored_generations(store, run, specs))
    }


@dataclass(frozen=True)
class _Try:
    """One pass at one generation: its outcome, and whether another pass may succeed."""

    outcome: GenerationOutcome
    worth_another_pass: bool = False


def generate_images(
    specs: list[GenerationSpec],
    *,
    generate: Callable[[ImageRequest], ImageResult],
    store: ObjectStore,
    run: RunContext,
    tracker: GenerationTracker,
    max_workers: int,
    on_stored: Callable[[GenerationSpec, bytes], None] | None = None,
) -> tuple[list[GenerationOutcome], int]:
    """Generate every spec not already stored. Returns (outcomes, how many were reused).

    `on_stored` is called with each image made and stored, in the thread that made it (the
    run's image checks take it from there: runs.image_checks.LookingAsStored).

    A generation that fails transiently is recorded only after its second pass (it stays
    running until then), so the tracker sees one final outcome per generation, whose attempts
    count both passes. Generations never started because of a cancel have no outcome.
    """
    outcomes = stored_outcomes(store, run, specs)
    for previous in outcomes.values():
        tracker.finished(previous, run.layout.image_key(previous.generation))
    pending = [spec for spec in specs if spec.generation not in outcomes]
    reused = len(outcomes)
    lock = threading.Lock()
    second_passes: list[Future[None]] = []

    def record(outcome: GenerationOutcome) -> None:
        with lock:
            outcomes[outcome.generation] = outcome
        key = run.layout.image_key(outcome.generation) if outcome.succeeded else None
        tracker.finished(outcome, key)

    def first_pass(pool: ThreadPoolExecutor, spec: GenerationSpec) -> None:
        if tracker.should_stop():
            return
        tracker.started(spec.generation)
        attempt = _generate_one(spec, generate=generate, store=store, run=run, on_stored=on_stored)
        if not attempt.worth_another_pass:
            record(attempt.outcome)
            return
        log.info(
            "generation %s failed for a passing reason; queued for a second pass: %s",
            spec.generation,
            attempt.outcome.error,
        )
        # The pool's queue is first in, first out: a second pass starts only once every first
        # pass has started, so it never holds back a first try, yet it overlaps the last first
        # passes instead of waiting for all of them to end.
        with lock:
            second_passes.append(pool.submit(second_pass, spec, attempt.outcome))

    def second_pass(spec: GenerationSpec, first: GenerationOutcome) -> None:
        if tracker.should_stop():
            record(first)  # started and failed: that is its outcome
            return
        attempt = _generate_one(
            spec,
            generate=generate,
            store=store,
            run=run,
            earlier_attempts=first.attempts,
            on_stored=on_stored,
        )
        outcome = attempt.outcome
        if not outcome.succeeded:
            outcome = replace(outcome, error=f"{outcome.error} (failed on both passes)")
        record(outcome)

    if pending:
        with ThreadPoolExecutor(
            max_workers=max(1, min(max_workers, len(pending))), thread_name_prefix="bulkgen-gen"
        ) as pool:
            for future in [pool.submit(first_pass, pool, spec) for spec in pending]:
                future.result()
            # Every first pass has ended, so every second pass has been queued.
            for future in second_passes:
                future.result()
    return [outcomes[g] for g in sorted(outcomes)], reused


def _generate_one(
    spec: GenerationSpec,
    *,
    generate: Callable[[ImageRequest], ImageResult],
    store: ObjectStore,
    run: RunContext,
    earlier_attempts: int = 0,
    on_stored: Callable[[GenerationSpec, bytes], None] | None = None,
) -> _Try:
    try:
        result = generate(request_for(spec))
    except GenerationFailed as failure:
        return _Try(
            GenerationOutcome(
                spec.generation,
                False,
                attempts=earlier_attempts + failure.attempts,
                error=failure.reason,
            ),
            worth_another_pass=failure.transient,
        )
    except Exception:  # a provider bug must fail one generation, not the whole run
        log.exception("generation %s crashed", spec.generation)  # the details, for operators
        return _Try(
            GenerationOutcome(
                spec.generation, False, attempts=earlier_attempts + 1, error=PROVIDER_CRASHED
            )
        )
    attempts = earlier_attempts + result.attempts
    layout = run.layout
    metadata = image_metadata(
        spec,
        run,
        provider=result.provider,
        model=result.model,
        latency_seconds=result.latency_seconds,
        attempts=attempts,
    )
    try:
        # Image first, metadata second: the metadata's presence marks the generation complete.
        store.put_bytes(
            layout.image_key(spec.generation), result.image_bytes, content_type=result.mime_type
        )
        store.put_bytes(
            layout.metadata_key(spec.generation),
            json.dumps(metadata, indent=2).encode(),
            "application/json",
        )
    except Exception:  # one failed upload fails one generation, not the run
        log.exception("could not store generation %s", spec.generation)
        outcome = GenerationOutcome(
            spec.generation,
            False,
            provider=result.provider,
            model=result.model,
            attempts=attempts,
            error=IMAGE_NOT_STORED,
        )
        # No second pass: the store (see storage/retrying.py) has retried the write with the
        # bytes kept already, and another pass would pay the provider for the same image again.
        return _Try(outcome)
    if on_stored is not None:
        try:
            on_stored(spec, result.image_bytes)
        except Exception:  # the image is made and stored: whatever looks at it fails nothing
            log.exception("could not hand over generation %s once stored", spec.generation)
    return _Try(
        GenerationOutcome(
            spec.generation,
            True,
            provider=result.provider,
            model=result.model,
            attempts=attempts,
            latency_seconds=result.latency_seconds,
        )
    )


def collect_outcomes(
    store: ObjectStore,
    run: RunContext,
    specs: list[GenerationSpec],
    recorded: dict[int, GenerationOutcome],
) -> list[GenerationOutcome]:
    """Every generation's final outcome: stored images succeeded; the rest failed with a reason.

    `recorded` holds the outcomes the database recorded while generating. A stored image takes
    its provider and timings from there, and its metadata is read only when the record is
    missing (stored just before a crash). A generation with neither an image nor a recorded
    failure was never started: the run was cancelled.
    """
    stored = stored_generations(store, run, specs)
    outcomes = []
    for spec in specs:
        generation = spec.generation
        known = recorded.get(generation)
        if generation in stored:
            if known is None or not known.succeeded:
                known = _outcome_from_metadata(store, run, generation)
            outcomes.append(known)
        elif known is not None and not known.succeeded:
            outcomes.append(known)
        else:
            outcomes.append(
                GenerationOutcome(generation, False, error="not generated: the run was cancelled")
            )
    return outcomes
