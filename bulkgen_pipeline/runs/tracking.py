"""The database side of generating a run: item status, progress counters, stop requests."""

from __future__ import annotations

import logging

from .. import db
from .packaging import GenerationOutcome

# Job statuses in which no new generation may start.
_STOPPED = frozenset({"cancelling", "cancelled", "completed"})


class DatabaseTracker:
    """Records each item's status and the run's progress counters as images finish."""

    def __init__(
        self, database: db.Database, run_id: str, log: logging.Logger | logging.LoggerAdapter
    ):
        self.database = database
        self.run_id = run_id
        self.log = log

    def started(self, generation: int) -> None:
        with self.database.session() as session:
            db.record_item(session, self.run_id, generation, status="running")

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None:
        latency_ms = (
            int(outcome.latency_seconds * 1000) if outcome.latency_seconds is not None else None
        )
        with self.database.session() as session:
            db.record_item(
                session,
                self.run_id,
                outcome.generation,
                status="succeeded" if outcome.succeeded else "failed",
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
        self.log.info(f"progress: {completed} succeeded, {failed} failed")

    def should_stop(self) -> bool:
        with self.database.session(readonly=True) as session:
            job = db.get_job(session, self.run_id)
        return job is None or job.status in _STOPPED
