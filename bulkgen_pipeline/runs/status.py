"""What a job looks like to its owner: status, counts, items, ETA, download, webhooks.

`bulkgen status`, the API and the console show this same view. It reads through a
`readmodel.Query` (from a session: `db.query_of`), so `bulkgen status` can build it without
loading SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..domain.layout import image_place
from ..domain.statuses import DeliveryStatus, JobStatus
from ..readmodel import (
    DeliveryView,
    ItemView,
    JobView,
    Query,
    iso,
    job_summary,
    read_deliveries,
    read_items,
    utcnow,
)
from ..readmodel.direct import direct_query

if TYPE_CHECKING:
    from .. import db


def eta_seconds(job: JobView, now: datetime | None = None) -> float | None:
    """Seconds until the last image, from the pace so far (None until one image is done)."""
    if job.status != JobStatus.PROCESSING or job.started_at is None:
        return None
    done = job.completed_images + job.failed_images
    remaining = job.total_images - done
    if done <= 0 or remaining <= 0:
        return None
    elapsed = ((now or utcnow()) - job.started_at).total_seconds()
    return round(max(0.0, elapsed / done * remaining), 1)


def item_view(item: ItemView, sizes: tuple[str, ...] = ()) -> dict[str, Any]:
    """One image's status; in a run of several `sizes`, also which generation and size it is."""
    placed: dict[str, Any] = {}
    if len(sizes) > 1:
        generation, position = image_place(item.generation_index, len(sizes))
        placed = {"generation": generation, "size": sizes[position]}
    return {
        "generation_index": item.generation_index,
        **placed,
        "status": item.status,
        "provider": item.provider,
        "model": item.model,
        "attempts": item.attempts,
        "error": item.error,
        "latency_ms": item.latency_ms,
        "updated_at": iso(item.updated_at),
    }


def delivery_view(delivery: DeliveryView) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": [
            {
                "attempted_at": iso(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log
        ],
        "next_attempt_at": iso(delivery.next_attempt_at)
        if delivery.status == DeliveryStatus.PENDING
        else None,
        "delivered_at": iso(delivery.delivered_at),
    }


def job_status(
    query: Query, job: JobView, *, with_items: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """The whole status of `job` as plain JSON-ready data."""
    items = read_items(query, job.run_id) if with_items else []
    deliveries = read_deliveries(query, run_id=job.run_id) if job.webhook_url else []
    final = JobStatus(job.status).is_final
    return {
        **job_summary(job),
        "kind": job.kind,
        "preset_name": job.preset_name,
        "pass_number": job.pass_number,
        "retry_count": job.retry_count,
        "finished_at": iso(job.completed_at) if final else None,
        # Deleting a run removes its files only: the job stays, without a download link.
        "files_deleted_at": iso(job.deleted_at),
        "eta_seconds": eta_seconds(job, now),
        "sizes": list(job.size_labels),
        "items": [item_view(item, job.size_labels) for item in items],
        "webhook_deliveries": [delivery_view(d) for d in deliveries],
    }


def job_summary_of(database: db.Database, run_id: str) -> dict[str, Any]:
    """The job's summary (`readmodel.job_summary`): what the CLI prints and shows as a run goes.
    The db layer is imported here, not with this module (see `status_query`)."""
    from .. import db

    with database.session(readonly=True) as session:  # never queues behind the run's writes
        return db.job_status_dict(session, run_id)


@contextmanager
def status_query(database_url: str) -> Iterator[Query]:
    """A `Query` for reading statuses: straight through the driver when the database allows it
    (no SQLAlchemy to load), else through the db layer, which first creates or migrates it."""
    with direct_query(database_url) as query:
        if query is not None:
            yield query
            return
    from .. import db

    with db.shared_database(database_url).session(readonly=True) as session:
        yield db.query_of(session)
