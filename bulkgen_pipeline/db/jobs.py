"""The job queue: queue a bulk run (reserving credits) and read jobs back.

Status changes live in `transitions.py`; the statuses and their moves in `domain/statuses.py`.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.engine import query_of
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
    User,
    utcnow,
)
from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.domain.priority import Priority
from bulkgen_pipeline.domain.statuses import (
    ACTIVE_JOB_STATUSES,
    ItemStatus,
    JobStatus,
    header_status,
)
from bulkgen_pipeline.readmodel import JobView, job_summary, read_job, read_jobs

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
    # The request as queued: the sensor tags the run with what it asked for (its model).
    preset_snapshot: dict[str, Any] = field(default_factory=dict)
    priority: str = Priority.NORMAL.value
    # What started it, when a schedule or a campaign did (the run's tags in the Dagster UI).
    schedule_id: str | None = None
    campaign_id: str | None = None
    is_test: bool = False  # started with a test-mode key: tagged test=true in the Dagster UI

    @property
    def run_key(self) -> str:
        return run_key(self.run_id, self.pass_number, self.resume_count)


def run_key(run_id: str, pass_number: int, resume_count: int) -> str:
    """The Dagster run key of a job's current attempt: every retry-failed pass and every resume
    after a lost executor is a new run of the same partition; a late event about an older
    run carries an older key and is ignored."""
    key = run_id if pass_number == 0 else f"{run_id}:pass{pass_number}"
    return key if resume_count == 0 else f"{key}:resume{resume_count}"


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
    image_count: int,
    run_id: str | None = None,
    webhook_url: str | None = None,
    webhook_events: list[str] | None = None,
    priority: Priority = Priority.NORMAL,
    credits_per_image: int = 1,
    is_test: bool = False,
) -> str:
    """Reserve `image_count` × `credits_per_image` credits and queue the run of that many
    images (a generation in k sizes is k images); returns the run id.

    Raises UnknownUser, UnknownPreset (missing or owned by someone else), JobAlreadyExists,
    InsufficientCredits(needed, available) when balance − reserved is less than that.
    A test-mode job (`is_test`) reserves nothing and writes no ledger row: it is never charged.
    """
    run_id = run_id or str(uuid.uuid4())
    _check_request(image_count, preset_snapshot, run_id, category)
    user = lock_user(session, user_id)
    _check_new_job(session, user_id, preset_id, run_id)
    needed = 0 if is_test else _reserve(user, image_count, credits_per_image)
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
            requested_count=image_count,
            priority=Priority(priority).value,
            credits_per_image=credits_per_image,
            is_test=is_test,
            webhook_url=webhook_url,
            webhook_events=list(webhook_events) if webhook_events is not None else None,
            pass_number=0,
            resume_count=0,
            created_at=now,
        )
    )
    session.flush()
    session.add(_queued_header(run_id, user_id, preset_id, category, image_count, needed, now))
    session.flush()
    if not is_test:
        add_ledger_entry(session, user_id=user_id, run_id=run_id, kind="reserve", amount=needed)
    queued = {"status": JobStatus.QUEUED.value, "total_images": image_count}
    append_event(
        session,
        run_id,
        STATUS_EVENT,
        {**queued, "completed_images": 0, "failed_images": 0, "error": None},
    )
    return run_id


def _check_request(
    image_count: int, preset_snapshot: dict[str, Any], run_id: str, category: str
) -> None:
    if isinstance(image_count, bool) or not isinstance(image_count, int) or image_count < 1:
        raise ValueError(f"image_count must be a positive integer, got {image_count!r}")
    if not isinstance(preset_snapshot, dict):
        raise TypeError("preset_snapshot must be a dict")
    _check_segment(run_id, "run_id")
    _check_segment(category, "category")


def _check_new_job(session: Session, user_id: str, preset_id: str | None, run_id: str) -> None:
    """The preset is the user's (UnknownPreset otherwise); no job has this run id yet."""
    if preset_id is not None:
        owner = session.scalar(select(Preset.user_id).where(Preset.id == preset_id))
        if owner != user_id:
            raise UnknownPreset(preset_id)
    if session.scalar(select(BackendJob.seq).where(BackendJob.uuid == run_id)) is not None:
        raise JobAlreadyExists(run_id)


def _reserve(user: User, image_count: int, credits_per_image: int) -> int:
    """Reserve the run's credits on the (locked) user; returns how many."""
    if isinstance(credits_per_image, bool) or not isinstance(credits_per_image, int):
        raise ValueError(f"credits_per_image must be an integer, got {credits_per_image!r}")
    if credits_per_image < 1:
        raise ValueError(f"credits_per_image must be at least 1, got {credits_per_image}")
    needed = image_count * credits_per_image
    available = user.credits_balance - user.credits_reserved
    if available < needed:
        raise InsufficientCredits(needed, available)
    user.credits_reserved += needed
    return needed


def _queued_header(
    run_id: str,
    user_id: str,
    preset_id: str | None,
    category: str,
    image_count: int,
    needed: int,
    now: datetime,
) -> BulkGenerationHeader:
    """The run's bulk_generation_header row as it is queued."""
    return BulkGenerationHeader(
        id=run_id,
        user_id=user_id,
        preset_id=preset_id,
        category=category,
        total_images=image_count,
        completed_images=0,
        failed_images=0,
        s3_folder_path=run_folder(user_id, category, run_id),
        status=header_status(JobStatus.QUEUED),
        credits_consumed=0,
        estimated_credits=needed,
        retry_count=0,
        created_at=now,
        updated_at=now,
    )


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
    BackendJob.preset_snapshot,
    BackendJob.priority,
    BackendJob.schedule_id,
    BackendJob.campaign_id,
    BackendJob.is_test,
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


def queued_jobs(
    session: Session, limit: int = 100, per_merchant: int | None = None
) -> list[JobRow]:
    """Jobs waiting for a run, oldest first: new ones and retry-failed passes alike. With
    `per_merchant`, each merchant's first that many only (their high-priority ones first, then
    the oldest): a merchant's backlog of hundreds (a campaign) then never hides another
    merchant's job beyond the `limit`."""
    waiting = (
        select(*_JOB_ROW_COLUMNS)
        .join(BulkGenerationHeader, BulkGenerationHeader.id == BackendJob.uuid)
        .where(BackendJob.status == JobStatus.QUEUED.value)
    )
    seq: Any = BackendJob.seq
    if per_merchant is not None:
        place = (
            func.row_number()
            .over(
                partition_by=BackendJob.user_id,
                order_by=(
                    sa.case((BackendJob.priority == Priority.HIGH.value, 0), else_=1),
                    BackendJob.seq,
                ),
            )
            .label("place")
        )
        ranked = waiting.add_columns(place).subquery()
        columns = [ranked.c[column.key] for column in _JOB_ROW_COLUMNS]
        waiting = select(*columns).where(ranked.c.place <= per_merchant)
        seq = ranked.c.seq
    rows = session.execute(waiting.order_by(seq).limit(limit))
    return [JobRow(*row) for row in rows]


def get_job(session: Session, run_id: str) -> JobView | None:
    return read_job(query_of(session), run_id)


def runs_of_mode(session: Session, user_id: str, run_ids: list[str], *, test: bool) -> list[str]:
    """Those of `run_ids` that are `user_id`'s runs of the other mode than `test`, in one
    query (runs/test_mode.py)."""
    if not run_ids:
        return []
    rows = session.scalars(
        sa.select(BackendJob.uuid).where(
            BackendJob.uuid.in_(run_ids),
            BackendJob.user_id == user_id,
            BackendJob.is_test != test,
        )
    )
    return list(rows)


def job_status_dict(session: Session, run_id: str) -> dict[str, Any]:
    """JSON-ready summary of a run (what the CLI prints; the API's view builds on it)."""
    job = get_job(session, run_id)
    if job is None:
        raise UnknownJob(run_id)
    return job_summary(job)


def item_counts(session: Session, run_id: str) -> tuple[int, int]:
    rows = dict(
        session.execute(
            select(GenerationItem.status, func.count())
            .where(GenerationItem.run_id == run_id)
            .group_by(GenerationItem.status)
        ).all()
    )
    return rows.get(ItemStatus.SUCCEEDED, 0), rows.get(ItemStatus.FAILED, 0)


def active_job_count(session: Session, user_id: str, *, test: bool = False) -> int:
    """What the per-user cap counts: the user's queued or running jobs, a campaign counting
    once however many of its runs are active (it was started, and is reserved, as one). Live
    and test-mode (`test`) jobs are counted apart, so testing never blocks a live start."""
    singles = func.sum(sa.case((BackendJob.campaign_id.is_(None), 1), else_=0))
    campaigns = func.count(sa.distinct(BackendJob.campaign_id))
    found = session.execute(
        select(singles, campaigns).where(
            BackendJob.user_id == user_id,
            BackendJob.status.in_([s.value for s in ACTIVE_JOB_STATUSES]),
            BackendJob.is_test.is_(test),
        )
    ).one()
    return int(found[0] or 0) + int(found[1] or 0)


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
    tag: str | None = None,
    test: bool = False,
) -> RunPage:
    """The user's live (or with `test`, test-mode) jobs newest first, `limit` at a time;
    `before_seq` continues a listing."""
    jobs = read_jobs(
        query_of(session),
        user_id=user_id,
        status=status,
        before_seq=before_seq,
        limit=limit + 1,
        tag=tag,
        test=test,
    )
    return RunPage(jobs[:limit], jobs[limit - 1].seq if len(jobs) > limit else None)
