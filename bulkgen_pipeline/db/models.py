"""SQLAlchemy 2.0 table models (names from the seed). The migration in `migrations/` is the
source of truth for the schema; `tests/db/test_migrations.py` checks the two agree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bulkgen_pipeline.domain.priority import PRIORITIES, Priority
from bulkgen_pipeline.domain.statuses import (
    HEADER_STATUSES,
    DeliveryStatus,
    ItemStatus,
    JobStatus,
)
from bulkgen_pipeline.domain.text import NAME_MAX_LENGTH
from bulkgen_pipeline.readmodel.schema import VERSION_TABLE as VERSION_TABLE
from bulkgen_pipeline.readmodel.views import utcnow as utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JOB_STATUSES = tuple(s.value for s in JobStatus)
ITEM_STATUSES = tuple(s.value for s in ItemStatus)
LEDGER_KINDS = ("grant", "reserve", "charge", "release")
WEBHOOK_STATUSES = tuple(s.value for s in DeliveryStatus)
JOB_TYPE_BULK = "bulk_generation"
OPERATION_BULK = "bulk_generation"


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("credits_balance >= 0", name="balance_non_negative"),
        sa.CheckConstraint("credits_reserved >= 0", name="reserved_non_negative"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    api_key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The test-mode key's hash (runs on the preview renderer, charging nothing); None for a
    # user made before test keys until one is made for them.
    test_api_key_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    credits_balance: Mapped[int] = mapped_column(sa.Integer, default=0)
    credits_reserved: Mapped[int] = mapped_column(sa.Integer, default=0)
    # Signs webhook deliveries (HMAC-SHA256), so it is kept as is, unlike the API key.
    webhook_secret: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Images a day: the operator's ceiling, and the merchant's own lower limit (None: none).
    daily_image_ceiling: Mapped[int | None] = mapped_column(sa.Integer)
    daily_image_limit: Mapped[int | None] = mapped_column(sa.Integer)
    # credits.low is sent once when the available credits fall below this; alerted_at is
    # cleared when they are back at or above it.
    low_credit_threshold: Mapped[int | None] = mapped_column(sa.Integer)
    low_credit_alerted_at: Mapped[datetime | None] = mapped_column()


class ConsoleSession(Base):
    """A merchant signed in to the console. The cookie carries a random token and this row only
    its SHA-256, so that signing out (or a new API key) ends the session on every process."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Signed in with the test-mode key: the console shows and starts test runs only.
    is_test: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class Preset(Base):
    __tablename__ = "presets"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(100))
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: runs queued from the preset keep pointing at it.
    deleted_at: Mapped[datetime | None]


class BackendJob(Base):
    __tablename__ = "backend_jobs"
    __table_args__ = (
        sa.CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        sa.CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        sa.CheckConstraint("credits_per_image >= 1", name="credits_per_image"),
    )

    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    job_type: Mapped[str] = mapped_column(sa.String(50), default=JOB_TYPE_BULK)
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    preset_id: Mapped[str | None] = mapped_column(sa.ForeignKey("presets.id"))
    preset_snapshot: Mapped[dict[str, Any]]
    requested_count: Mapped[int] = mapped_column(sa.Integer)
    priority: Mapped[str] = mapped_column(
        sa.String(10), default=Priority.NORMAL.value, server_default=Priority.NORMAL.value
    )
    # What one image of this job costs: its chosen model's price (1 unless the catalogue says).
    credits_per_image: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    result_url: Mapped[str | None] = mapped_column(sa.Text)
    download_link: Mapped[str | None] = mapped_column(sa.Text)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    dagster_run_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The schedule that started it (its Dagster run's `schedule_id` tag); kept as a label after
    # the schedule is deleted, hence no foreign key.
    schedule_id: Mapped[str | None] = mapped_column(sa.String(36))
    # The catalogue campaign it was started in (its Dagster run's `campaign_id` tag).
    campaign_id: Mapped[str | None] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    webhook_url: Mapped[str | None] = mapped_column(sa.Text)
    webhook_events: Mapped[list[str] | None] = mapped_column(sa.JSON)
    # Started with a test-mode key: preview renderer only, no credits, marked test everywhere.
    is_test: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # 0 for the first pass; each retry-failed adds one (its own reservation in the ledger).
    pass_number: Mapped[int] = mapped_column(sa.Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_expires_at: Mapped[datetime | None]
    resume_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class BulkGenerationHeader(Base):
    __tablename__ = "bulk_generation_header"
    __table_args__ = (sa.CheckConstraint(_in("status", HEADER_STATUSES), name="status"),)

    id: Mapped[str] = mapped_column(sa.ForeignKey("backend_jobs.uuid"), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    preset_id: Mapped[str | None] = mapped_column(sa.ForeignKey("presets.id"))
    category: Mapped[str] = mapped_column(sa.String(100))
    total_images: Mapped[int] = mapped_column(sa.Integer)
    completed_images: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed_images: Mapped[int] = mapped_column(sa.Integer, default=0)
    s3_folder_path: Mapped[str] = mapped_column(sa.Text)
    zip_file_s3_key: Mapped[str | None] = mapped_column(sa.Text)
    zip_file_url: Mapped[str | None] = mapped_column(sa.Text)
    zip_file_expires_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(sa.String(20))
    credits_consumed: Mapped[int] = mapped_column(sa.Integer, default=0)
    estimated_credits: Mapped[int] = mapped_column(sa.Integer)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    retry_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImgHistory(Base):
    __tablename__ = "img_history"
    __table_args__ = (sa.UniqueConstraint("aws_folder_id", "generation_index"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    aws_folder_id: Mapped[str] = mapped_column(sa.String(64))
    ai_model: Mapped[str | None] = mapped_column(sa.String(200))
    operation_type: Mapped[str] = mapped_column(sa.String(50), default=OPERATION_BULK)
    prompt: Mapped[str | None] = mapped_column(sa.Text)
    object_key: Mapped[str | None] = mapped_column(sa.Text)
    generation_index: Mapped[int | None] = mapped_column(sa.Integer)
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GenerationItem(Base):
    __tablename__ = "generation_items"
    __table_args__ = (sa.CheckConstraint(_in("status", ITEM_STATUSES), name="status"),)

    run_id: Mapped[str] = mapped_column(
        sa.ForeignKey("backend_jobs.uuid", ondelete="CASCADE"), primary_key=True
    )
    generation_index: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    provider: Mapped[str | None] = mapped_column(sa.String(100))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    object_key: Mapped[str | None] = mapped_column(sa.Text)
    latency_ms: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditLedger(Base):
    """Append-only. `grant` rows (run_id NULL) add to the balance; per run and pass at most one
    `reserve`, one `charge` and one `release` row (UNIQUE(run_id, kind, pass_number))."""

    __tablename__ = "credit_ledger"
    __table_args__ = (
        sa.UniqueConstraint("run_id", "kind", "pass_number"),
        sa.CheckConstraint(_in("kind", LEDGER_KINDS), name="kind"),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("backend_jobs.uuid"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    amount: Mapped[int] = mapped_column(sa.Integer)
    pass_number: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why an operator granted credits (a name's rules: domain/text.py); None on other kinds.
    note: Mapped[str | None] = mapped_column(sa.String(NAME_MAX_LENGTH), nullable=True)


class JobEvent(Base):
    """What happened to a job, in order: the server-sent events stream and webhooks read it.
    The id is the SSE event id (Last-Event-ID)."""

    __tablename__ = "job_events"
    __table_args__ = (sa.Index("ix_job_events_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(sa.ForeignKey("backend_jobs.uuid", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdempotencyKey(Base):
    """The first answer to an `Idempotency-Key`, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int] = mapped_column(sa.Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event to POST to a job's webhook (an outbox row written with the event itself)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.CheckConstraint(_in("status", WEBHOOK_STATUSES), name="status"),
        sa.Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # None for an event of no run (a schedule's `schedule.skipped`).
    run_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("backend_jobs.uuid", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"))
    event_type: Mapped[str] = mapped_column(sa.String(50))
    url: Mapped[str] = mapped_column(sa.Text)
    payload: Mapped[str] = mapped_column(sa.Text)  # the exact bytes signed and sent
    status: Mapped[str] = mapped_column(sa.String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)


ALL_TABLES = (
    "users",
    "presets",
    "backend_jobs",
    "bulk_generation_header",
    "img_history",
    "generation_items",
    "credit_ledger",
    "job_events",
    "idempotency_keys",
    "webhook_deliveries",
    "webhook_attempts",
    "console_sessions",
    "previews",
    "job_tags",
    "templates",
    "merchant_schedules",
    "merchant_schedule_runs",
    "campaigns",
)

# What merchants keep beside their runs (previews, tags, templates, schedules, campaigns), in a
# module of its own; imported here so that every table is on Base.metadata.
from .models_merchant import (  # noqa: E402
    SCHEDULE_OUTCOMES as SCHEDULE_OUTCOMES,
)
from .models_merchant import (  # noqa: E402
    SCHEDULE_STATUSES as SCHEDULE_STATUSES,
)
from .models_merchant import Campaign as Campaign  # noqa: E402
from .models_merchant import Preview as Preview  # noqa: E402
from .models_merchant import RunTag as RunTag  # noqa: E402
from .models_merchant import Schedule as Schedule  # noqa: E402
from .models_merchant import ScheduleRun as ScheduleRun  # noqa: E402
from .models_merchant import Template as Template  # noqa: E402
