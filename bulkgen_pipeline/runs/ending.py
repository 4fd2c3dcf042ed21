"""How a job ends when its Dagster run ends without settling it: one use case for all who see
a run end badly. The run-failure and cancellation sensors watch daemon-launched runs; the
in-process executor (the CLI, the demo) ends its own runs, which no sensor may be watching; the
images step ends a run cancelled before any image. Each says what it saw; the transition, its
credits and its event are db/'s, each in one transaction.
"""

from __future__ import annotations

from .. import db
from .leases import resume_after_lost_executor

RUN_CANCELLED = "The Dagster run was cancelled"
CANCELLED_BEFORE_ANY_IMAGE = "Cancelled before any image was generated"


def stop_requested(database: db.Database, run_id: str) -> str:
    """Whoever executes the run was told to stop (the Dagster UI's "Terminate"): a queued job
    ends cancelled, a processing one starts no new image and ends cancelled once its run has
    stopped. Returns the job's status."""
    with database.session() as session:
        return db.request_cancel(session, run_id)


def end_run(
    database: db.Database,
    run_id: str,
    *,
    dagster_run_id: str,
    key: str | None = None,
    cancelled: bool = False,
    reason: str | None = None,
    executor_lost: bool = False,
    max_resumes: int = 0,
) -> str:
    """End the job of a Dagster run that ended unsettled; returns the job's status.

    `cancelled`: terminated in the UI, dropped from the run queue, or stopped before any image:
    the job ends cancelled (`reason`, by default RUN_CANCELLED) with its unused reservation
    released. `executor_lost`: the run's process died with no step failing, the lease watch's
    case seen sooner: resumed within `max_resumes`. Otherwise it failed, for `reason`.
    `key` is the run key of a sensor-launched run: a job a newer run already works on is left
    alone."""
    if executor_lost:
        return resume_after_lost_executor(
            database, run_id, dagster_run_id=dagster_run_id, key=key, max_resumes=max_resumes
        )
    with database.session() as session:
        if cancelled:
            return db.mark_cancelled(
                session, run_id, reason or RUN_CANCELLED, dagster_run_id=dagster_run_id, key=key
            )
        return db.fail_job(
            session, run_id, reason or "run failed", dagster_run_id=dagster_run_id, key=key
        )
