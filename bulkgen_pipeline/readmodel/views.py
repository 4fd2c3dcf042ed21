"""The read-only views of a job, its items and its webhook deliveries, built from raw rows.

A row comes straight from a DBAPI driver, so the same column may arrive in two shapes: SQLite
keeps datetimes as naive ISO text and JSON as text, PostgreSQL returns aware datetimes and
decoded JSON. `utc` and `json_value` make both into one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bulkgen_pipeline.domain.kinds import (
    DEFAULT_BATCH_NAME,
    snapshot_config,
    snapshot_kind,
    snapshot_name,
    snapshot_sizes,
)
from bulkgen_pipeline.domain.layout import size_labels


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | str | None) -> datetime | None:
    """An aware UTC datetime from what either driver returns (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_value(value: Any) -> Any:
    """A JSON column's value, decoded when the driver left it as text."""
    return json.loads(value) if isinstance(value, str | bytes) else value


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
    priority: str = "normal"  # domain.priority.Priority
    credits_per_image: int = 1
    schedule_id: str | None = None  # the schedule that started it
    campaign_id: str | None = None  # the catalogue campaign it belongs to
    is_test: bool = False  # started with a test-mode key

    @property
    def job_id(self) -> str:
        return self.run_id

    # The request as queued (preset_snapshot) is read through these, never indexed directly.
    @property
    def kind(self) -> str:
        """domain.kinds.PRESET or PROMPT_BATCH."""
        return snapshot_kind(self.preset_snapshot)

    @property
    def preset_name(self) -> str | None:
        """The preset's or the batch's name, as queued."""
        return snapshot_name(self.preset_snapshot)

    @property
    def display_name(self) -> str:
        """The name to show a person (a nameless snapshot is shown as a prompt batch)."""
        return self.preset_name or DEFAULT_BATCH_NAME

    @property
    def size_labels(self) -> tuple[str, ...]:
        """The sizes the run renders each generation in (domain.sizes labels)."""
        return size_labels(snapshot_sizes(self.preset_snapshot))

    @property
    def run_config(self) -> dict[str, Any]:
        """What the run was asked for: a preset's config, or a batch's whole body."""
        return snapshot_config(self.preset_snapshot)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> JobView:
        """`row` holds one column per field, named as the field (see queries.JOB_COLUMNS)."""
        values = dict(row)
        for name in _JOB_DATETIMES:
            values[name] = utc(values[name])
        values["preset_snapshot"] = json_value(values["preset_snapshot"])
        events = json_value(values["webhook_events"])
        values["webhook_events"] = list(events) if events is not None else None
        values["is_test"] = bool(values["is_test"])  # SQLite gives 0 or 1
        return cls(**values)


_JOB_DATETIMES = (
    "zip_expires_at",
    "created_at",
    "started_at",
    "completed_at",
    "lease_expires_at",
    "deleted_at",
)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


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
        "zip_file_expires_at": iso(job.zip_expires_at),
        "error": job.error_message,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "completed_at": iso(job.completed_at),
        "test": job.is_test,
    }


@dataclass(frozen=True)
class ItemView:
    run_id: str
    generation_index: int
    status: str
    provider: str | None
    model: str | None
    attempts: int
    error: str | None
    object_key: str | None
    latency_ms: int | None
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ItemView:
        return cls(**{**row, "updated_at": utc(row["updated_at"])})


@dataclass(frozen=True)
class AttemptView:
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AttemptView:
        return cls(
            attempted_at=utc(row["attempted_at"]),  # type: ignore[arg-type]
            status_code=row["status_code"],
            error=row["error"],
            duration_ms=row["duration_ms"],
        )


@dataclass(frozen=True)
class DeliveryView:
    id: int
    webhook_id: str
    run_id: str
    user_id: str
    event_type: str
    url: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: tuple[AttemptView, ...] = ()

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], attempt_log: tuple[AttemptView, ...] = ()
    ) -> DeliveryView:
        values = dict(row)
        for name in ("next_attempt_at", "created_at", "delivered_at"):
            values[name] = utc(values[name])
        return cls(**values, attempt_log=attempt_log)
