"""Moving a job through its statuses (the table in `domain/statuses.py`), with its credits.

Every change of status goes through `set_status`, which checks the table, mirrors the status on
the header and appends the status event (SSE and webhooks). Lock order: user → job → header.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import InsufficientCredits, UnknownJob
from bulkgen_pipeline.db.events import STATUS_EVENT, append_event
from bulkgen_pipeline.db.jobs import item_counts, run_key
from bulkgen_pipeline.db.ledger import (
    add_ledger_entry,
    lock_run,
    lock_run_rows,
    release_reservation,
)
from bulkgen_pipeline.db.models import (
    BackendJob,
    BulkGenerationHeader,
    GenerationItem,
    ImgHistory,
    utcnow,
)
from bulkgen_pipeline.domain.statuses import (
    FINAL_JOB_STATUSES,
    RETRYABLE_JOB_STATUSES,
    SETTLED_JOB_STATUSES,
    STOPPED_JOB_STATUSES,
    ItemStatus,
    JobStatus,
    check_transition,
    header_status,
)


class NothingToRetry(ValueError):
    """retry-failed on a job that is not finished, or has no failed image."""


def status_event_data(job: BackendJob, header: BulkGenerationHeader) -> dict:
    return {
        "status": job.status,
        "total_images": header.total_images,
        "completed_images": header.completed_images,
        "failed_images": header.failed_images,
        "error": job.error_message,
    }


def set_status(
    session: Session,
    job: BackendJob,
    header: BulkGenerationHeader,
    target: JobStatus,
    *,
    error: str | None = None,
) -> None:
    """Move the job (and its header) to `target`, recording the event; final statuses stamp
    `completed_at`. Raises IllegalTransition for a move the table does not allow."""
    check_transition(job.status, target)
    now = utcnow()
    changed = job.status != target or job.error_message != error
    job.status = target.value
    header.status = header_status(target)
    job.error_message = header.error_message = error
    header.updated_at = now
    if target in FINAL_JOB_STATUSES:
        job.completed_at = now
        job.lease_owner = job.lease_expires_at = None
    if changed:
        session.flush()
        append_event(session, job.uuid, STATUS_EVENT, status_event_data(job, header))


def refresh_counts(session: Session, job: BackendJob, header: BulkGenerationHeader) -> None:
    header.completed_images, header.failed_images = item_counts(session, job.uuid)


def mark_job_processing(
    session: Session,
    run_id: str,
    dagster_run_id: str | None,
    *,
    lease_seconds: float | None = None,
) -> str:
    """queued/failed → processing (a failed run being re-executed counts as a retry), holding
    the lease for `lease_seconds` when given. Settled, cancelling and cancelled jobs are left
    alone. Returns the job's status."""
    job, header = lock_run_rows(session, run_id)
    status = JobStatus(job.status)
    if status in (JobStatus.QUEUED, JobStatus.FAILED, JobStatus.PROCESSING):
        retry = status == JobStatus.FAILED or (
            status == JobStatus.PROCESSING
            and dagster_run_id is not None
            and job.dagster_run_id not in (None, dagster_run_id)
        )
        if retry:
            header.retry_count += 1
        job.completed_at = None
        job.started_at = job.started_at or utcnow()
        if dagster_run_id is not None:
            job.dagster_run_id = dagster_run_id
        if lease_seconds is not None:
            job.lease_owner = dagster_run_id or "claimed"
            job.lease_expires_at = utcnow() + timedelta(seconds=lease_seconds)
        set_status(session, job, header, JobStatus.PROCESSING)
    session.flush()
    return job.status


def request_cancel(session: Session, run_id: str) -> str:
    """queued → cancelled (reservation released); processing → cancelling (the run stops and
    calls `mark_cancelled`). Other states are unchanged. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if job.status == JobStatus.QUEUED:
        set_status(session, job, header, JobStatus.CANCELLED)
        release_reservation(session, user, job)
    elif job.status == JobStatus.PROCESSING:
        set_status(session, job, header, JobStatus.CANCELLING)
    session.flush()
    return job.status


def _superseded(job: BackendJob, dagster_run_id: str | None, key: str | None = None) -> bool:
    """True when the event is about an older Dagster run than the one now working on the job.

    Sensors can report late: a failure of attempt 1 must not end attempt 2, which an operator,
    a retry-failed pass or the lease watch may already have launched, nor release the
    reservation attempt 2 will settle against. Runs the sensor launched carry the run key of
    their attempt; others are told apart by their Dagster run id.
    """
    if key is not None and key != run_key(job.uuid, job.pass_number, job.resume_count):
        return True
    return (
        dagster_run_id is not None
        and job.dagster_run_id is not None
        and job.dagster_run_id != dagster_run_id
    )


def mark_cancelled(
    session: Session,
    run_id: str,
    reason: str | None = None,
    *,
    dagster_run_id: str | None = None,
    key: str | None = None,
) -> str:
    """The run stopped after a cancel request: cancelled, open reservation released, stored
    items/images kept. A settled run stays settled; an event about a superseded Dagster run
    changes nothing. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if _superseded(job, dagster_run_id, key):
        return job.status
    if job.status not in SETTLED_JOB_STATUSES:
        if job.status != JobStatus.CANCELLED:
            refresh_counts(session, job, header)
            set_status(session, job, header, JobStatus.CANCELLED, error=reason)
        release_reservation(session, user, job)
    session.flush()
    return job.status


def is_cancel_requested(session: Session, run_id: str) -> bool:
    status = session.scalar(select(BackendJob.status).where(BackendJob.uuid == run_id))
    if status is None:
        raise UnknownJob(run_id)
    return status in (JobStatus.CANCELLING, JobStatus.CANCELLED)


def is_stopped(session: Session, run_id: str) -> bool:
    """No new image may start: cancel requested, settled already, or the job is gone."""
    status = session.scalar(select(BackendJob.status).where(BackendJob.uuid == run_id))
    return status is None or JobStatus(status) in STOPPED_JOB_STATUSES


def settled_image_count(session: Session, run_id: str) -> int:
    """Images of this run delivered (and charged) by its passes so far."""
    return int(
        session.scalar(
            select(func.count()).select_from(ImgHistory).where(ImgHistory.aws_folder_id == run_id)
        )
        or 0
    )


def has_settled_images(session: Session, run_id: str) -> bool:
    return settled_image_count(session, run_id) > 0


def fail_job(
    session: Session,
    run_id: str,
    error: str,
    *,
    dagster_run_id: str | None = None,
    key: str | None = None,
) -> str:
    """The run failed with `error`: its open reservation is released (at most once), items and
    stored images kept, header counts refreshed. A settled run is left alone; a run being
    cancelled ends cancelled; a retry pass that fails leaves the images of the earlier pass
    delivered (partial, with the error); a failure of a superseded Dagster run (see
    `_superseded`) changes nothing. Idempotent. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if job.status in SETTLED_JOB_STATUSES or _superseded(job, dagster_run_id, key):
        return job.status
    if job.status not in (JobStatus.CANCELLED, JobStatus.FAILED) or job.error_message != error:
        refresh_counts(session, job, header)
        if job.status in (JobStatus.CANCELLING, JobStatus.CANCELLED):
            target = JobStatus.CANCELLED
        elif has_settled_images(session, run_id):
            target = JobStatus.PARTIAL
            header.completed_images = settled_image_count(session, run_id)
            header.failed_images = header.total_images - header.completed_images
        else:
            target = JobStatus.FAILED
        set_status(session, job, header, target, error=error)
    release_reservation(session, user, job)
    session.flush()
    return job.status


def requeue_failed(session: Session, run_id: str) -> tuple[int, int, int]:
    """retry-failed: a partial or failed job goes back to the queue for its missing images.

    Opens a new pass with its own reservation: the missing images at the job's credits per
    image (the caller holds the user lock through `lock_run`), none for a test-mode job.
    Returns (pass, images, credits).
    """
    job, header, user = lock_run(session, run_id)
    if JobStatus(job.status) not in RETRYABLE_JOB_STATUSES:
        raise NothingToRetry(
            f"only a partial or failed job can be retried; this one is {job.status}"
        )
    missing = job.requested_count - settled_image_count(session, run_id)
    if missing <= 0:
        raise NothingToRetry("every image of this job was delivered; there is nothing to retry")
    needed = 0 if job.is_test else missing * job.credits_per_image
    available = user.credits_balance - user.credits_reserved
    if available < needed:
        raise InsufficientCredits(needed, available)
    release_reservation(session, user, job)  # a failed pass may still hold one (idempotent)
    job.pass_number += 1
    if not job.is_test:
        user.credits_reserved += needed
        add_ledger_entry(
            session,
            user_id=user.id,
            run_id=run_id,
            kind="reserve",
            amount=needed,
            pass_number=job.pass_number,
        )
    for item in session.scalars(
        select(GenerationItem).where(
            GenerationItem.run_id == run_id, GenerationItem.status != ItemStatus.SUCCEEDED
        )
    ):
        item.status = ItemStatus.PENDING.value
        item.error = None
        item.updated_at = utcnow()
    header.retry_count += 1
    header.estimated_credits = needed
    job.completed_at = None
    job.resume_count = 0
    set_status(session, job, header, JobStatus.QUEUED)
    session.flush()
    return job.pass_number, missing, needed


def resume_stranded(
    session: Session,
    run_id: str,
    *,
    max_resumes: int,
    reason: str,
    dagster_run_id: str | None = None,
    key: str | None = None,
) -> str:
    """A job whose executor is gone (its lease ran out, or Dagster saw its run worker die): a
    cancelling one ends cancelled; a processing one goes back to the queue for a new run that
    makes only the missing images, up to `max_resumes` times, then fails with `reason`. The
    reservation is released whenever the job ends. An event about a superseded Dagster run
    (see `_superseded`) changes nothing: whichever of the lease watch and the failure sensor
    comes first resumes the job, the other finds it taken. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if _superseded(job, dagster_run_id, key):
        return job.status
    status = JobStatus(job.status)
    if status == JobStatus.CANCELLING:
        refresh_counts(session, job, header)
        set_status(session, job, header, JobStatus.CANCELLED, error=reason)
        release_reservation(session, user, job)
    elif status == JobStatus.PROCESSING:
        if job.resume_count >= max_resumes:
            refresh_counts(session, job, header)
            target = JobStatus.PARTIAL if has_settled_images(session, run_id) else JobStatus.FAILED
            set_status(
                session,
                job,
                header,
                target,
                error=f"{reason}; gave up after {job.resume_count} resumes",
            )
            release_reservation(session, user, job)
        else:
            job.resume_count += 1
            job.lease_owner = job.lease_expires_at = None
            set_status(session, job, header, JobStatus.QUEUED)
    session.flush()
    return job.status
