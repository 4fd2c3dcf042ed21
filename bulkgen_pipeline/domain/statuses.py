"""The statuses of a bulk job and of its items, and the one table of moves between them.

The database, the use cases in `runs/`, the sensors and the API all use these; nothing else
spells a status.

    queued ─► processing ─► completed | partial | failed
      │            │  ▲
      │            ▼  └── (lease expired: resumed)
      │        cancelling ─► cancelled | completed | partial
      └─► cancelled | failed
    partial | failed ─► queued      (retry-failed: only the missing images, a new reservation)
    failed ─► processing            (an operator re-executes the run in the Dagster UI)

A new job status touches: this file (the enum, the sets it belongs to, JOB_TRANSITIONS,
header_status / HEADER_STATUSES, SUBSCRIPTION_OF_STATUS if runs can end in it) and a migration
for the tables' CHECK constraints (db/models.py derives them from the enums); optionally
web/pages.py STATUS_TONES for its badge colour (neutral without). The API, its OpenAPI schema,
the console's script and stylesheet read the enums and need nothing.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # every image made
    PARTIAL = "partial"  # settled with some images made and some failed
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in FINAL_JOB_STATUSES

    @property
    def is_active(self) -> bool:
        """Counts against the per-user cap on active jobs."""
        return self in ACTIVE_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED, JobStatus.CANCELLED}
)
ACTIVE_JOB_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.CANCELLING})
# Settled: images delivered and charged; a re-execution must not add to them for free.
SETTLED_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.PARTIAL})
# No new image may start: a cancel was asked for, or the run is settled already.
STOPPED_JOB_STATUSES = frozenset(
    {JobStatus.CANCELLING, JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.PARTIAL}
)
RETRYABLE_JOB_STATUSES = frozenset({JobStatus.PARTIAL, JobStatus.FAILED})

JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED, JobStatus.FAILED}),
    JobStatus.PROCESSING: frozenset(
        {
            JobStatus.QUEUED,  # its executor stopped renewing the lease: resumed
            JobStatus.COMPLETED,
            JobStatus.PARTIAL,
            JobStatus.FAILED,
            JobStatus.CANCELLING,
            JobStatus.CANCELLED,
        }
    ),
    JobStatus.CANCELLING: frozenset(
        {JobStatus.CANCELLED, JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.PARTIAL: frozenset({JobStatus.QUEUED}),
    JobStatus.FAILED: frozenset({JobStatus.QUEUED, JobStatus.PROCESSING, JobStatus.PARTIAL}),
    JobStatus.CANCELLED: frozenset(),
}


class IllegalTransition(ValueError):
    def __init__(self, current: JobStatus, target: JobStatus) -> None:
        self.current, self.target = current, target
        super().__init__(f"a {current.value} job cannot become {target.value}")


def check_transition(current: str, target: str) -> JobStatus:
    """The target status, if the table allows the move (staying put is always allowed)."""
    now, then = JobStatus(current), JobStatus(target)
    if now != then and then not in JOB_TRANSITIONS[now]:
        raise IllegalTransition(now, then)
    return then


def header_status(job_status: str) -> str:
    """bulk_generation_header.status mirrors the job's (the seed calls queued `pending`)."""
    status = JobStatus(job_status)
    if status == JobStatus.QUEUED:
        return "pending"
    if status == JobStatus.CANCELLING:
        return JobStatus.PROCESSING.value
    return status.value


HEADER_STATUSES = ("pending", "processing", "completed", "partial", "failed", "cancelled")


class ItemStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_finished(self) -> bool:
        return self in (ItemStatus.SUCCEEDED, ItemStatus.FAILED)


class DeliveryStatus(StrEnum):
    """A webhook delivery: retried while pending, until delivered or its schedule is spent."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ScheduleStatus(StrEnum):
    """A schedule starts runs at its times while active; paused, it has no next time."""

    ACTIVE = "active"
    PAUSED = "paused"


class ScheduleOutcome(StrEnum):
    """What one due time of a schedule came to."""

    STARTED = "started"
    SKIPPED = "skipped"


class WebhookSubscription(StrEnum):
    """What a merchant subscribes to (`webhook_events`): how runs end, or every image."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ITEM = "item"


DEFAULT_SUBSCRIPTIONS = (
    WebhookSubscription.COMPLETED,
    WebhookSubscription.FAILED,
    WebhookSubscription.CANCELLED,
)
# The subscription a job's move to a status falls under (none: no webhook is sent for it).
SUBSCRIPTION_OF_STATUS = {
    JobStatus.COMPLETED: WebhookSubscription.COMPLETED,
    JobStatus.PARTIAL: WebhookSubscription.COMPLETED,  # settled with some failures: delivered
    JobStatus.FAILED: WebhookSubscription.FAILED,
    JobStatus.CANCELLED: WebhookSubscription.CANCELLED,
}


def settled_status(succeeded: int, failed: int) -> JobStatus:
    """How a run that delivered `succeeded` images and lost `failed` ends."""
    if succeeded == 0:
        return JobStatus.FAILED
    return JobStatus.PARTIAL if failed else JobStatus.COMPLETED
