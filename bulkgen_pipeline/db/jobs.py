"""The job queue: queue a bulk run (reserving credits), read it back, move it through its states.

backend_jobs.status:  queued → processing → completed | failed
                      queued → cancelled;  processing → cancelling → cancelled
bulk_generation_header.status: pending → processing → completed | failed | cancelled
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import (
    InsufficientCredits,
    JobAlreadyExists,
    UnknownJob,
    UnknownPreset,
)
from bulkgen_pipeline.db.ledger import (
    add_ledger_entry,
    dialect_name,
    lock_run,
    lock_run_rows,
    lock_user,
    release_reservation,
)
from bulkgen_pipeline.db.models import (
    JOB_TYPE_BULK,
    BackendJob,
    BulkGenerationHeader,
    GenerationItem,
    Preset,
    utcnow,
)

# pg_advisory_xact_lock key serialising inserts into backend_jobs, so that `seq` order equals
# commit order and a sensor cursor on `seq` can never skip a job committed late.
_QUEUE_LOCK_KEY = 0x62676A6F6273  # "bgjobs"
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


@dataclass(frozen=True)
class JobRow:
    seq: int
    run_id: str
    user_id: str
    preset_id: str | None
    category: str
    status: str
    requested_count: int


@dataclass(frozen=True)
class JobView:
    run_id: str
    seq: int
    user_id: str
    preset_id: str | None
    category: str
    job_type: str
    status: str
    header_status: str
    preset_snapshot: dict[str, Any]
    requested_count: int
    total_images: int
    completed_images: int
    failed_images: int
    credits_consumed: int
    estimated_credits: int
    error_message: str | None
    result_url: str | None
    download_link: str | None
    s3_folder_path: str
    zip_key: str | None
    zip_url: str | None
    zip_expires_at: datetime | None
    dagster_run_id: str | None
    retry_count: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def job_id(self) -> str:
        return self.run_id


def run_folder(user_id: str, category: str, run_id: str) -> str:
    """Object-store folder of a run: ``{user_id}/bulk_runs/{category}/{run_id}``."""
    return f"{user_id}/bulk_runs/{category}/{run_id}"


def _check_segment(value: str, what: str) -> None:
    if not isinstance(value, str) or not _SAFE_SEGMENT.match(value) or ".." in value:
        raise ValueError(f"{what} must be 1-64 characters of [A-Za-z0-9_.-], got {value!r}")


def queue_bulk_job(
    session: Session,
    *,
    user_id: str,
    preset_id: str | None,
    category: str,
    preset_snapshot: dict[str, Any],
    generation_count: int,
    run_id: str | None = None,
) -> str:
    """Reserve `generation_count` credits and queue the run; returns the run id.

    Raises UnknownUser, UnknownPreset (missing or owned by someone else), JobAlreadyExists,
    InsufficientCredits(needed, available) when balance − reserved < generation_count.
    """
    if (
        isinstance(generation_count, bool)
        or not isinstance(generation_count, int)
        or generation_count < 1
    ):
        raise ValueError(f"generation_count must be a positive integer, got {generation_count!r}")
    if not isinstance(preset_snapshot, dict):
        raise TypeError("preset_snapshot must be a dict")
    run_id = run_id or str(uuid.uuid4())
    _check_segment(run_id, "run_id")
    _check_segment(category, "category")

    user = lock_user(session, user_id)
    if preset_id is not None:
        owner = session.scalar(select(Preset.user_id).where(Preset.id == preset_id))
        if owner != user_id:
            raise UnknownPreset(preset_id)
    if session.scalar(select(BackendJob.seq).where(BackendJob.uuid == run_id)) is not None:
        raise JobAlreadyExists(run_id)
    available = user.credits_balance - user.credits_reserved
    if available < generation_count:
        raise InsufficientCredits(generation_count, available)

    user.credits_reserved += generation_count
    if dialect_name(session) == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _QUEUE_LOCK_KEY})
    now = utcnow()
    session.add(
        BackendJob(
            uuid=run_id,
            user_id=user_id,
            job_type=JOB_TYPE_BULK,
            status="queued",
            preset_id=preset_id,
            preset_snapshot=copy.deepcopy(preset_snapshot),
            requested_count=generation_count,
            created_at=now,
        )
    )
    session.flush()
    session.add(
        BulkGenerationHeader(
            id=run_id,
            user_id=user_id,
            preset_id=preset_id,
            category=category,
            total_images=generation_count,
            completed_images=0,
            failed_images=0,
            s3_folder_path=run_folder(user_id, category, run_id),
            status="pending",
            credits_consumed=0,
            estimated_credits=generation_count,
            retry_count=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    add_ledger_entry(
        session, user_id=user_id, run_id=run_id, kind="reserve", amount=generation_count
    )
    return run_id


def jobs_after(session: Session, after_seq: int, limit: int = 100) -> list[JobRow]:
    """Jobs with seq > after_seq in seq order, every status (the sensor skips cancelled)."""
    rows = session.execute(
        select(
            BackendJob.seq,
            BackendJob.uuid,
            BackendJob.user_id,
            BackendJob.preset_id,
            BulkGenerationHeader.category,
            BackendJob.status,
            BackendJob.requested_count,
        )
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.seq > after_seq)
        .order_by(BackendJob.seq)
        .limit(limit)
    )
    return [JobRow(*row) for row in rows]


def get_job(session: Session, run_id: str) -> JobView | None:
    row = session.execute(
        select(BackendJob, BulkGenerationHeader)
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.uuid == run_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if row is None:
        return None
    job, header = row
    return JobView(
        run_id=job.uuid,
        seq=job.seq,
        user_id=job.user_id,
        preset_id=job.preset_id,
        category=header.category,
        job_type=job.job_type,
        status=job.status,
        header_status=header.status,
        preset_snapshot=copy.deepcopy(job.preset_snapshot),
        requested_count=job.requested_count,
        total_images=header.total_images,
        completed_images=header.completed_images,
        failed_images=header.failed_images,
        credits_consumed=header.credits_consumed,
        estimated_credits=header.estimated_credits,
        error_message=job.error_message,
        result_url=job.result_url,
        download_link=job.download_link,
        s3_folder_path=header.s3_folder_path,
        zip_key=header.zip_file_s3_key,
        zip_url=header.zip_file_url,
        zip_expires_at=header.zip_file_expires_at,
        dagster_run_id=job.dagster_run_id,
        retry_count=header.retry_count,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def job_status_dict(session: Session, run_id: str) -> dict[str, Any]:
    """JSON-ready status of a run (what the API and `bulkgen status` print)."""
    job = get_job(session, run_id)
    if job is None:
        raise UnknownJob(run_id)
    return {
        "job_id": job.run_id,
        "job_type": job.job_type,
        "status": job.status,
        "user_id": job.user_id,
        "preset_id": job.preset_id,
        "category": job.category,
        "total_images": job.total_images,
        "completed_images": job.completed_images,
        "failed_images": job.failed_images,
        "credits_consumed": job.credits_consumed,
        "estimated_credits": job.estimated_credits,
        "download_link": job.download_link,
        "zip_file_s3_key": job.zip_key,
        "zip_file_expires_at": _iso(job.zip_expires_at),
        "error": job.error_message,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
    }


def mark_job_processing(session: Session, run_id: str, dagster_run_id: str | None) -> str:
    """queued/failed → processing (a failed run being re-executed counts as a retry).
    completed, cancelling and cancelled are left alone. Returns the job's status."""
    job, header = lock_run_rows(session, run_id)
    now = utcnow()
    if job.status in ("queued", "failed", "processing"):
        retry = job.status == "failed" or (
            job.status == "processing"
            and dagster_run_id is not None
            and job.dagster_run_id not in (None, dagster_run_id)
        )
        if retry:
            header.retry_count += 1
        job.status, header.status = "processing", "processing"
        job.error_message = header.error_message = None
        job.completed_at = None
        job.started_at = job.started_at or now
        if dagster_run_id is not None:
            job.dagster_run_id = dagster_run_id
        header.updated_at = now
    session.flush()
    return job.status


def item_counts(session: Session, run_id: str) -> tuple[int, int]:
    rows = dict(
        session.execute(
            select(GenerationItem.status, func.count())
            .where(GenerationItem.run_id == run_id)
            .group_by(GenerationItem.status)
        ).all()
    )
    return rows.get("succeeded", 0), rows.get("failed", 0)


def _close(job: BackendJob, header: BulkGenerationHeader, status: str, error: str | None) -> None:
    now = utcnow()
    job.status = header.status = status
    job.error_message = header.error_message = error
    job.completed_at = now
    header.updated_at = now


def request_cancel(session: Session, run_id: str) -> str:
    """queued → cancelled (reservation released); processing → cancelling (the run stops and
    calls `mark_cancelled`). Other states are unchanged. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if job.status == "queued":
        _close(job, header, "cancelled", None)
        release_reservation(session, user, run_id)
    elif job.status == "processing":
        job.status = "cancelling"
        header.updated_at = utcnow()
    session.flush()
    return job.status


def _superseded(job: BackendJob, dagster_run_id: str | None) -> bool:
    """True when the event is about an older Dagster run than the one now working on the job.

    Sensors can report late: a failure of attempt 1 must not end attempt 2, which an operator
    may already have launched, nor release the reservation attempt 2 will settle against.
    """
    return (
        dagster_run_id is not None
        and job.dagster_run_id is not None
        and job.dagster_run_id != dagster_run_id
    )


def mark_cancelled(
    session: Session, run_id: str, reason: str | None = None, *, dagster_run_id: str | None = None
) -> str:
    """The run stopped after a cancel request: cancelled, open reservation released, stored
    items/images kept. A completed run stays completed; an event about a superseded Dagster run
    changes nothing. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if _superseded(job, dagster_run_id):
        return job.status
    if job.status != "completed":
        if job.status != "cancelled":
            header.completed_images, header.failed_images = item_counts(session, run_id)
            _close(job, header, "cancelled", reason)
        release_reservation(session, user, run_id)
    session.flush()
    return job.status


def is_cancel_requested(session: Session, run_id: str) -> bool:
    status = session.scalar(select(BackendJob.status).where(BackendJob.uuid == run_id))
    if status is None:
        raise UnknownJob(run_id)
    return status in ("cancelling", "cancelled")


def fail_job(
    session: Session, run_id: str, error: str, *, dagster_run_id: str | None = None
) -> str:
    """Job + header failed with `error`, the reservation released (at most once), items and
    stored images kept; header counts refreshed from the items. A completed (settled) run is
    left alone; a run being cancelled ends cancelled; a failure of a superseded Dagster run
    (see `_superseded`) changes nothing. Idempotent. Returns the job's status."""
    job, header, user = lock_run(session, run_id)
    if job.status == "completed" or _superseded(job, dagster_run_id):
        return job.status
    if job.status not in ("cancelled", "failed") or job.error_message != error:
        header.completed_images, header.failed_images = item_counts(session, run_id)
        target = "cancelled" if job.status in ("cancelling", "cancelled") else "failed"
        _close(job, header, target, error)
    release_reservation(session, user, run_id)
    session.flush()
    return job.status
