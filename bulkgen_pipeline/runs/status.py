"""What a job looks like to its owner: status, counts, items, ETA, download, webhooks.

`bulkgen status`, the API and the console show this same view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import db
from ..db.models import utcnow
from ..db.webhooks import list_deliveries
from ..statuses import JobStatus


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def eta_seconds(job: db.JobView, now: datetime | None = None) -> float | None:
    """Seconds until the last image, from the pace so far (None until one image is done)."""
    if job.status != JobStatus.PROCESSING or job.started_at is None:
        return None
    done = job.completed_images + job.failed_images
    remaining = job.total_images - done
    if done <= 0 or remaining <= 0:
        return None
    elapsed = ((now or utcnow()) - job.started_at).total_seconds()
    return round(max(0.0, elapsed / done * remaining), 1)


def item_view(item: db.ItemView) -> dict[str, Any]:
    return {
        "generation_index": item.generation_index,
        "status": item.status,
        "provider": item.provider,
        "model": item.model,
        "attempts": item.attempts,
        "error": item.error,
        "latency_ms": item.latency_ms,
        "updated_at": _iso(item.updated_at),
    }


def delivery_view(delivery: Any) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": [
            {
                "attempted_at": _iso(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in delivery.attempt_log
        ],
        "next_attempt_at": _iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "delivered_at": _iso(delivery.delivered_at),
    }


def job_status(
    session: Any, job: db.JobView, *, with_items: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """The whole status of `job` as plain JSON-ready data."""
    items = db.list_items(session, job.run_id) if with_items else []
    deliveries = list_deliveries(session, job.run_id) if job.webhook_url else []
    final = JobStatus(job.status).is_final
    return {
        **db.job_summary(job),
        "kind": job.preset_snapshot.get("kind", "preset"),
        "preset_name": job.preset_snapshot.get("body", {}).get("name"),
        "pass_number": job.pass_number,
        "retry_count": job.retry_count,
        "finished_at": _iso(job.completed_at) if final else None,
        "eta_seconds": eta_seconds(job, now),
        "items": [item_view(item) for item in items],
        "webhook_deliveries": [delivery_view(d) for d in deliveries],
    }
