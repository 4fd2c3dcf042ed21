"""No job left behind: executors renew a lease; the lease watch takes over abandoned jobs.

`LeaseKeeper` is held by every step of a run. `recover_stranded` (the `stranded_jobs` sensor,
every 30 s) finds processing or cancelling jobs whose lease ran out: a cancelling one ends
cancelled; a processing one is queued again for a new run of its partition that makes only the
missing images, at most `max_resumes` times, then fails with its reservation released.
`resume_job` (`bulkgen resume`) does the same for one job at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from .. import db
from ..domain.statuses import JobStatus
from .control import JobConflict, owned_job

log = logging.getLogger(__name__)
LEASE_LOST = "its executor stopped renewing the job's lease (killed or lost)"
EXECUTOR_LOST = "the process executing its run died (killed, out of memory or its machine lost)"


class LeaseKeeper:
    """Renews the job's lease every third of its length until stopped (a context manager)."""

    def __init__(
        self,
        database: db.Database,
        run_id: str,
        owner: str,
        seconds: float,
        *,
        renew_at_start: bool = True,
    ) -> None:
        """`renew_at_start=False` when the caller has just taken the lease (claim_for_run): a
        renewal then would only be one more transaction per step."""
        self.database, self.run_id, self.owner, self.seconds = database, run_id, owner, seconds
        self.renew_at_start = renew_at_start
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"bulkgen-lease-{run_id[:8]}", daemon=True
        )

    def renew(self) -> bool:
        with self.database.session() as session:
            return db.renew_lease(session, self.run_id, self.owner, self.seconds)

    def _run(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self.renew()
            except Exception:  # a database hiccup must not end the run; the next try may work
                log.warning("could not renew the lease of job %s", self.run_id, exc_info=True)

    def __enter__(self) -> LeaseKeeper:
        if self.renew_at_start:
            self.renew()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def claim_for_run(
    database: db.Database, run_id: str, dagster_run_id: str, lease_seconds: float
) -> str:
    """The job is processing for this Dagster run, holding the lease for `lease_seconds`: every
    step claims it first (a re-execution from failure starts past the first step, and a failed
    job's re-execution counts as a retry). Settled, cancelling and cancelled jobs are left
    alone. Returns the job's status."""
    with database.session() as session:
        return db.mark_job_processing(session, run_id, dagster_run_id, lease_seconds=lease_seconds)


def recover_stranded(
    database: db.Database,
    *,
    lease_seconds: float,
    max_resumes: int,
    now: datetime | None = None,
) -> dict[str, str]:
    """Every abandoned job resumed, cancelled or failed; returns {job id: new status}."""
    with database.session(readonly=True) as session:
        stranded = db.stranded_jobs(session, now, grace_seconds=lease_seconds)
    outcome = {}
    for run_id in stranded:
        with database.session() as session:
            outcome[run_id] = db.resume_stranded(
                session, run_id, max_resumes=max_resumes, reason=LEASE_LOST
            )
    return outcome


def resume_after_lost_executor(
    database: db.Database,
    run_id: str,
    *,
    dagster_run_id: str,
    key: str | None,
    max_resumes: int,
) -> str:
    """Dagster ended the job's run without any step failing: the process executing it died.
    That is the lease watch's case, seen sooner, so it ends the same way: resumed (missing
    images only) within `max_resumes`. Returns the job's status."""
    with database.session() as session:
        return db.resume_stranded(
            session,
            run_id,
            max_resumes=max_resumes,
            reason=EXECUTOR_LOST,
            dagster_run_id=dagster_run_id,
            key=key,
        )


def resume_job(
    database: db.Database,
    *,
    run_id: str,
    user_id: str | None = None,
    max_resumes: int,
    claim: bool = False,
) -> str:
    """Resume a processing job now (or end a cancelling one), whatever its lease says.
    With `claim`, the caller executes the resumed run itself. Returns the new status."""
    with database.session() as session:
        job = owned_job(session, user_id, run_id)
        if job.status not in (JobStatus.PROCESSING, JobStatus.CANCELLING):
            raise JobConflict(
                f"only a processing or cancelling job can be resumed; this is {job.status}"
            )
        status = db.resume_stranded(
            session, run_id, max_resumes=max_resumes, reason="resumed by an operator"
        )
        if claim and status == JobStatus.QUEUED:
            status = db.mark_job_processing(session, run_id, None)
        return status
