"""Leases: whoever executes a job renews one, so a dead executor is told from a slow one.

The steps of a run take the lease when they start and renew it while they work, whichever
process runs them (the CLI in-process, a run worker launched by the daemon, a re-execution
from the Dagster UI). A job still `processing` or `cancelling` once its lease has expired
has been abandoned; `stranded_jobs` finds those for the lease watch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import BackendJob, utcnow
from bulkgen_pipeline.domain.statuses import JobStatus

LEASED_STATUSES = (JobStatus.PROCESSING.value, JobStatus.CANCELLING.value)


def renew_lease(
    session: Session, run_id: str, owner: str, seconds: float, now: datetime | None = None
) -> bool:
    """Hold (or keep holding) the job's lease for `seconds`; False when the job is no longer
    processing or cancelling (nothing to hold)."""
    now = now or utcnow()
    result = session.execute(
        update(BackendJob)
        .where(BackendJob.uuid == run_id, BackendJob.status.in_(LEASED_STATUSES))
        .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    # An UPDATE gives a CursorResult, which has rowcount.
    return result.rowcount == 1  # type: ignore[attr-defined]


def stranded_jobs(
    session: Session, now: datetime | None = None, *, grace_seconds: float = 0.0
) -> list[str]:
    """Jobs processing or cancelling whose lease has run out, oldest first. A job that never
    had one (claimed, then its executor died before its first step) counts once it has been
    processing for `grace_seconds`."""
    now = now or utcnow()
    rows = session.scalars(
        select(BackendJob.uuid)
        .where(
            BackendJob.status.in_(LEASED_STATUSES),
            or_(
                BackendJob.lease_expires_at < now,
                BackendJob.lease_expires_at.is_(None)
                & (BackendJob.started_at < now - timedelta(seconds=grace_seconds)),
            ),
        )
        .order_by(BackendJob.seq)
    )
    return list(rows)
