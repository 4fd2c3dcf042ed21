"""The database side of generating a run: item status, progress counters, stop requests."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .. import db
from ..domain.statuses import ItemStatus
from .packaging import GenerationOutcome

PROGRESS_LOG_EVERY_S = 2.0


def recorded_outcomes(database: db.Database, run_id: str) -> dict[int, GenerationOutcome]:
    """The outcome of each generation whose image was made or failed, as the tracker recorded
    it, by generation index."""
    with database.session(readonly=True) as session:
        items = db.list_items(session, run_id)
    return {
        item.generation_index: GenerationOutcome(
            item.generation_index,
            item.status == ItemStatus.SUCCEEDED,
            provider=item.provider,
            model=item.model,
            attempts=item.attempts or 0,
            error=item.error,
            latency_seconds=item.latency_ms / 1000 if item.latency_ms is not None else None,
        )
        for item in items
        if ItemStatus(item.status).is_finished
    }


class DatabaseTracker:
    """Records each item's status and the run's progress counters as images finish.

    `terminated` tells whether whoever executes the run was told to stop (an operator's
    "Terminate" in the Dagster UI): the executor is then being interrupted, and an image started
    meanwhile would be paid to the provider for nothing."""

    def __init__(
        self,
        database: db.Database,
        run_id: str,
        log: logging.Logger | logging.LoggerAdapter,
        terminated: Callable[[], bool] | None = None,
        *,
        total: int | None = None,
    ):
        """`total`: the run's generations, so that the last progress line is always logged
        however soon it follows the one before."""
        self.database = database
        self.run_id = run_id
        self.log = log
        self.terminated = terminated
        self.total = total
        self._logged_at: float | None = None
        self._log_lock = threading.Lock()

    def started(self, generation: int) -> None:
        with self.database.session() as session:
            db.record_item(session, self.run_id, generation, status=ItemStatus.RUNNING)

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None:
        latency_ms = (
            int(outcome.latency_seconds * 1000) if outcome.latency_seconds is not None else None
        )
        with self.database.session() as session:
            db.record_item(
                session,
                self.run_id,
                outcome.generation,
                status=ItemStatus.SUCCEEDED if outcome.succeeded else ItemStatus.FAILED,
                provider=outcome.provider,
                model=outcome.model,
                attempts=outcome.attempts,
                error=outcome.error,
                object_key=object_key,
                latency_ms=latency_ms,
            )
            completed, failed = db.refresh_progress(session, self.run_id)
        if not outcome.succeeded:
            self.log.warning(f"generation {outcome.generation} failed: {outcome.error}")
        if self._time_to_log(completed + failed):
            self.log.info(f"progress: {completed} succeeded, {failed} failed")

    def _time_to_log(self, finished: int) -> bool:
        """Every progress line is an event Dagster stores (a row in its event log): at most
        one per PROGRESS_LOG_EVERY_S, and the last. A 50-image run logged 50 before, and a
        resumed run one per image it found stored."""
        now = time.monotonic()
        with self._log_lock:
            due = (
                self._logged_at is None
                or now - self._logged_at >= PROGRESS_LOG_EVERY_S
                or finished == self.total
            )
            if due:
                self._logged_at = now
            return due

    def should_stop(self) -> bool:
        if self.terminated is not None and self.terminated():
            return True
        with self.database.session(readonly=True) as session:
            return db.is_stopped(session, self.run_id)
