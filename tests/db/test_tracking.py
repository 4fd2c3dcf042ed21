"""The generation tracker's database side: item records and how often it logs progress."""

from __future__ import annotations

import logging

import pytest

from bulkgen_pipeline.runs import tracking
from bulkgen_pipeline.runs.packaging import GenerationOutcome
from bulkgen_pipeline.runs.tracking import DatabaseTracker


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def log() -> tuple[logging.Logger, Lines]:
    logger = logging.getLogger(f"bulkgen-test-tracker-{id(object())}")
    logger.propagate = False
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    return logger, lines


def _finish(tracker: DatabaseTracker, generation: int, succeeded: bool = True) -> None:
    tracker.finished(
        GenerationOutcome(
            generation, succeeded, "local", "preview-1", 1, None if succeeded else "x"
        ),
        f"runs/r/images/generation_{generation}.png" if succeeded else None,
    )


def test_progress_is_logged_first_then_at_most_every_interval_and_always_last(
    db, make_account, queue, log, monkeypatch
):
    """Each progress line is a row in Dagster's event log: images finishing together log the
    first and the last, and one in between only once the interval has passed; every image is
    still recorded."""
    logger, lines = log
    run_id = queue(make_account(), count=5)
    clock = [100.0]
    monkeypatch.setattr(tracking.time, "monotonic", lambda: clock[0])
    tracker = DatabaseTracker(db, run_id, logger, total=5)
    for generation in (1, 2, 3):
        _finish(tracker, generation)
    clock[0] += tracking.PROGRESS_LOG_EVERY_S
    _finish(tracker, 4, succeeded=False)
    _finish(tracker, 5)
    assert [m for m in lines.messages if m.startswith("progress")] == [
        "progress: 1 succeeded, 0 failed",
        "progress: 3 succeeded, 1 failed",
        "progress: 4 succeeded, 1 failed",
    ]
    assert "generation 4 failed: x" in lines.messages  # failures are never held back
    finished = tracking.recorded_outcomes(db, run_id)
    assert sorted(finished) == [1, 2, 3, 4, 5] and not finished[4].succeeded
