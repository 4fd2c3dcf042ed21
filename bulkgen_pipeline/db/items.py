"""Per-generation item status (one row per generation index of a run) and run progress."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.engine import query_of
from bulkgen_pipeline.db.events import ITEM_EVENT, append_event
from bulkgen_pipeline.db.jobs import item_counts
from bulkgen_pipeline.db.ledger import dialect_name, lock_run_rows
from bulkgen_pipeline.db.models import ITEM_STATUSES, GenerationItem, utcnow
from bulkgen_pipeline.db.transitions import set_status
from bulkgen_pipeline.domain.statuses import ItemStatus, JobStatus
from bulkgen_pipeline.readmodel import ItemView, read_items


def record_item(
    session: Session,
    run_id: str,
    generation_index: int,
    *,
    status: str,
    provider: str | None = None,
    model: str | None = None,
    attempts: int | None = None,
    error: str | None = None,
    object_key: str | None = None,
    latency_ms: int | None = None,
) -> None:
    """Insert or update one item (atomic upsert, safe from many threads each with its own
    session). Fields left as None keep their stored value; `succeeded` clears the error. A
    finished item (succeeded or failed) is also recorded as an event."""
    if status not in ITEM_STATUSES:
        raise ValueError(f"status must be one of {ITEM_STATUSES}, got {status!r}")
    values: dict[str, Any] = {
        "run_id": run_id,
        "generation_index": generation_index,
        "status": status,
        "updated_at": utcnow(),
    }
    optional = {
        "provider": provider,
        "model": model,
        "attempts": attempts,
        "error": error,
        "object_key": object_key,
        "latency_ms": latency_ms,
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    dialect = dialect_name(session)
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"record_item does not support the {dialect} dialect")
    stmt = insert(GenerationItem).values(attempts=values.pop("attempts", 0), **values)
    update: dict[str, Any] = {
        k: stmt.excluded[k] for k in values if k not in ("run_id", "generation_index")
    }
    if attempts is not None:
        update["attempts"] = stmt.excluded.attempts
    if status == ItemStatus.SUCCEEDED and error is None:
        update["error"] = None
    session.execute(
        stmt.on_conflict_do_update(index_elements=["run_id", "generation_index"], set_=update)
    )
    if ItemStatus(status).is_finished:
        append_event(
            session,
            run_id,
            ITEM_EVENT,
            {
                "generation_index": generation_index,
                "status": status,
                "provider": provider,
                "model": model,
                "attempts": attempts,
                "error": error,
                "latency_ms": latency_ms,
            },
        )


def list_items(session: Session, run_id: str) -> list[ItemView]:
    return read_items(query_of(session), run_id)


def refresh_progress(session: Session, run_id: str) -> tuple[int, int]:
    """Recompute header.completed_images / failed_images from the items (under the row lock,
    so concurrent callers converge on the right totals) and move a queued job to processing.
    Finished runs are not touched. Returns (completed, failed)."""
    job, header = lock_run_rows(session, run_id)
    completed, failed = item_counts(session, run_id)
    if JobStatus(job.status).is_final:
        return completed, failed
    now = utcnow()
    header.completed_images, header.failed_images = completed, failed
    header.updated_at = now
    if job.status == JobStatus.QUEUED:
        job.started_at = job.started_at or now
        set_status(session, job, header, JobStatus.PROCESSING)
    session.flush()
    return completed, failed
