"""Tables of what merchants keep beside their runs: previews reviewed before paying, run tags,
templates, schedules and their outcomes, campaigns. Re-exported by models.py (one Base)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from bulkgen_pipeline.domain.statuses import ScheduleOutcome, ScheduleStatus
from bulkgen_pipeline.domain.text import NAME_MAX_LENGTH

from .models import Base, _in, utcnow

SCHEDULE_STATUSES = tuple(s.value for s in ScheduleStatus)
SCHEDULE_OUTCOMES = tuple(o.value for o in ScheduleOutcome)


class Preview(Base):
    """A preset's prompts resolved for review before paying (POST /api/bulk-generation/preview):
    valid until `expires_at`, started at most once (`started_run_id`, the run it became)."""

    __tablename__ = "previews"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    preset_id: Mapped[str | None] = mapped_column(sa.ForeignKey("presets.id"))
    snapshot: Mapped[dict[str, Any]]  # the request with its resolved generations
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    started_run_id: Mapped[str | None] = mapped_column(sa.String(64))


class RunTag(Base):
    """A merchant's label on one of their runs."""

    # Not "run_tags": Dagster's run storage has that table, in the same database in production.
    __tablename__ = "job_tags"
    __table_args__ = (sa.Index("ix_job_tags_user_id_tag", "user_id", "tag"),)

    run_id: Mapped[str] = mapped_column(sa.ForeignKey("backend_jobs.uuid"), primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"))


class Template(Base):
    """A prompt batch saved to start again by id (`POST /api/templates/{id}/start`)."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    batch: Mapped[dict[str, Any]]  # the prompt batch as validated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Schedule(Base):
    """Starts a preset or a template at the times of a cron expression in a time zone
    (`POST /api/schedules`); the `scheduled_starts` sensor starts the due ones."""

    __tablename__ = "merchant_schedules"
    __table_args__ = (
        sa.CheckConstraint(_in("status", SCHEDULE_STATUSES), name="status"),
        sa.CheckConstraint("(preset_id IS NULL) <> (template_id IS NULL)", name="one_source"),
        sa.Index("ix_merchant_schedules_status_next_run_at", "status", "next_run_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    preset_id: Mapped[str | None] = mapped_column(sa.ForeignKey("presets.id"))
    # No foreign key: a deleted template leaves its schedule to record why it cannot start.
    template_id: Mapped[str | None] = mapped_column(sa.String(36))
    cron: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    generation_count: Mapped[int | None] = mapped_column(sa.Integer)
    webhook_url: Mapped[str | None] = mapped_column(sa.Text)
    webhook_events: Mapped[list[str] | None] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(10))
    next_run_at: Mapped[datetime | None]  # UTC; None while paused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleRun(Base):
    """One due time of a schedule: the run it started, or why it could not."""

    __tablename__ = "merchant_schedule_runs"
    __table_args__ = (
        sa.CheckConstraint(_in("outcome", SCHEDULE_OUTCOMES), name="outcome"),
        sa.Index("ix_merchant_schedule_runs_schedule_id_id", "schedule_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(
        sa.ForeignKey("merchant_schedules.id", ondelete="CASCADE")
    )
    scheduled_for: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(sa.String(10))
    run_id: Mapped[str | None] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A merchant's named group of runs started together, one per product
    (`POST /api/campaigns`); each of its jobs names it (`BackendJob.campaign_id`)."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(NAME_MAX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
