"""The job queue: queue a bulk run (reserving credits) and read jobs back.

Status changes live in `transitions.py`; the statuses and their moves in `statuses.py`.
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
from bulkgen_pipeline.db.events import STATUS_EVENT, append_event
from bulkgen_pipeline.db.ledger import add_ledger_entry, dialect_name, lock_user
from bulkgen_pipeline.db.models import (
    JOB_TYPE_BULK,
    BackendJob,
    BulkGenerationHeader,
    GenerationItem,
    Preset,
    utcnow,
)
from bulkgen_pipeline.runs.layout import RunLayout
from bulkgen_pipeline.statuses import ACTIVE_JOB_STATUSES, JobStatus

# pg_advisory_xact_lock key serialising inserts into backend_jobs, so that `seq` order equals
# commit order and a sensor cursor on `seq` can never skip a job committed late.
_QUEUE_LOCK_KEY = 0x62676A6F6273  # "bgjobs"
_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class JobRow:
    seq: int
    run_id: str
    user_id: str
    preset_id: str | None
    category: str
    status: str
    requested_count: int
    pass_number: int = 0
    resume_count: int = 0

    @property
    def run_key(self) -> str:
        return run_key(self.run_id, self.pass_number, self.resume_count)


def run_key(run_id: str, pass_number: int, resume_count: int) -> str:
    """The Dagster run key of a job's current attempt: every retry-failed pass and every resume
    after a lost executor is a new run of the same partition; a late event about an older
    run carries an older key and is ignored."""
    key = run_id if pass_number == 0 else f"{run_id}:pass{pass_number}"
    return key if resume_count == 0 else f"{key}:resume{resume_count}"


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
    pass_number: int = 0
    webhook_url: str | None = None
    webhook_events: list[str] | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    resume_count: int = 0
    deleted_at: datetime | None = None

    @property
    def job_id(self) -> str:
        return self.run_id


def run_folder(user_id: str, category: str, run_id: str) -> str:
    """Object-store folder of a run (the layout itself is `RunLayout`'s)."""
    return RunLayout(user_id, category, run_id, preset_id=None).folder


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
    webhook_url: str | None = None,
    webhook_events: list[str] | None = None,
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
            status=JobStatus.QUEUED.value,
            preset_id=preset_id,
            preset_snapshot=copy.deepcopy(preset_snapshot),
            requested_count=generation_count,
            webhook_url=webhook_url,
            webhook_events=list(webhook_events) if webhook_events is not None else None,
            pass_number=0,
            resume_count=0,
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
    append_event(
        session,
        run_id,
        STATUS_EVENT,
        {
            "status": JobStatus.QUEUED.value,
            "total_images": generation_count,
            "completed_images": 0,
            "failed_images": 0,
            "error": None,
        },
    )
    return run_id


_JOB_ROW_COLUMNS = (
    BackendJob.seq,
    BackendJob.uuid,
    BackendJob.user_id,
    BackendJob.preset_id,
    BulkGenerationHeader.category,
    BackendJob.status,
    BackendJob.requested_count,
    BackendJob.pass_number,
    BackendJob.resume_count,
)


def jobs_after(session: Session, after_seq: int, limit: int = 100) -> list[JobRow]:
    """Jobs with seq > after_seq in seq order, every status."""
    rows = session.execute(
        select(*_JOB_ROW_COLUMNS)
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.seq > after_seq)
        .order_by(BackendJob.seq)
        .limit(limit)
    )
    return [JobRow(*row) for row in rows]


def queued_jobs(session: Session, limit: int = 100) -> list[JobRow]:
    """Jobs waiting for a run, oldest first: new ones and retry-failed passes alike."""
    rows = session.execute(
        select(*_JOB_ROW_COLUMNS)
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.status == JobStatus.QUEUED.value)
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
    return None if row is None else _job_view(*row)


def _job_view(job: BackendJob, header: BulkGenerationHeader) -> JobView:
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
        pass_number=job.pass_number,
        webhook_url=job.webhook_url,
        webhook_events=list(job.webhook_events) if job.webhook_events is not None else None,
        lease_owner=job.lease_owner,
        lease_expires_at=job.lease_expires_at,
        resume_count=job.resume_count,
        deleted_at=job.deleted_at,
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def job_status_dict(session: Session, run_id: str) -> dict[str, Any]:
    """JSON-ready summary of a run (what the CLI prints; the API's view builds on it)."""
    job = get_job(session, run_id)
    if job is None:
        raise UnknownJob(run_id)
    return job_summary(job)


def job_summary(job: JobView) -> dict[str, Any]:
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
        "download_link": job.download_link if job.zip_key and job.deleted_at is None else None,
        "zip_file_s3_key": job.zip_key,
        "zip_file_expires_at": _iso(job.zip_expires_at),
        "error": job.error_message,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "completed_at": _iso(job.completed_at),
    }


def item_counts(session: Session, run_id: str) -> tuple[int, int]:
    rows = dict(
        session.execute(
            select(GenerationItem.status, func.count())
            .where(GenerationItem.run_id == run_id)
            .group_by(GenerationItem.status)
        ).all()
    )
    return rows.get("succeeded", 0), rows.get("failed", 0)


def active_job_count(session: Session, user_id: str) -> int:
    """The user's jobs that are queued or running (the per-user cap counts these)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BackendJob)
            .where(
                BackendJob.user_id == user_id,
                BackendJob.status.in_([s.value for s in ACTIVE_JOB_STATUSES]),
            )
        )
        or 0
    )


def mark_job_deleted(session: Session, run_id: str) -> None:
    """The run's files are being removed: it leaves listings and its download link dies."""
    job = session.execute(select(BackendJob).where(BackendJob.uuid == run_id)).scalar_one()
    job.deleted_at = job.deleted_at or utcnow()
    session.flush()


@dataclass(frozen=True)
class RunPage:
    jobs: list[JobView]
    next_cursor: int | None


def list_user_jobs(
    session: Session,
    user_id: str,
    *,
    status: str | None = None,
    before_seq: int | None = None,
    limit: int = 20,
) -> RunPage:
    """The user's jobs newest first, `limit` at a time; `before_seq` continues a listing."""
    stmt = (
        select(BackendJob, BulkGenerationHeader)
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.user_id == user_id, BackendJob.deleted_at.is_(None))
        .order_by(BackendJob.seq.desc())
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    if status is not None:
        stmt = stmt.where(BackendJob.status == status)
    if before_seq is not None:
        stmt = stmt.where(BackendJob.seq < before_seq)
    rows = session.execute(stmt).all()
    jobs = [_job_view(job, header) for job, header in rows[:limit]]
    return RunPage(jobs, jobs[-1].seq if len(rows) > limit else None)
