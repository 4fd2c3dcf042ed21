"""The SQL behind the job views, written once for SQLite and PostgreSQL alike.

A `Query` runs one statement with `:name` parameters and returns its rows as mappings; the db
layer makes one from a session (`db.query_of`), `direct.py` from a bare DBAPI connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bulkgen_pipeline.readmodel.views import AttemptView, DeliveryView, ItemView, JobView

Query = Callable[[str, Mapping[str, Any]], list[Mapping[str, Any]]]

# One column per JobView field, named as the field.
JOB_COLUMNS = """
    j.uuid AS run_id, j.seq, j.user_id, j.preset_id, h.category, j.job_type, j.status,
    h.status AS header_status, j.preset_snapshot, j.requested_count, h.total_images,
    h.completed_images, h.failed_images, h.credits_consumed, h.estimated_credits,
    j.error_message, j.result_url, j.download_link, h.s3_folder_path,
    h.zip_file_s3_key AS zip_key, h.zip_file_url AS zip_url,
    h.zip_file_expires_at AS zip_expires_at, j.dagster_run_id, h.retry_count, j.created_at,
    j.started_at, j.completed_at, j.pass_number, j.webhook_url, j.webhook_events,
    j.lease_owner, j.lease_expires_at, j.resume_count, j.deleted_at, j.priority,
    j.credits_per_image, j.schedule_id, j.campaign_id, j.is_test
"""
_JOBS = f"SELECT {JOB_COLUMNS} FROM backend_jobs j JOIN bulk_generation_header h ON h.id = j.uuid"

_ITEMS = """
    SELECT run_id, generation_index, status, provider, model, attempts, error, object_key,
           latency_ms, updated_at
    FROM generation_items WHERE run_id = :run_id ORDER BY generation_index
"""

_DELIVERY_COLUMNS = """
    d.id, d.webhook_id, d.run_id, d.user_id, d.event_type, d.url, d.payload, d.status,
    d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at,
    d.delivered_at
"""
_ATTEMPT_COLUMNS = "a.delivery_id, a.attempted_at, a.status_code, a.error, a.duration_ms"


def read_job(query: Query, run_id: str) -> JobView | None:
    rows = query(f"{_JOBS} WHERE j.uuid = :run_id", {"run_id": run_id})
    return JobView.from_row(rows[0]) if rows else None


def read_jobs(
    query: Query,
    *,
    user_id: str | None = None,
    status: str | None = None,
    before_seq: int | None = None,
    limit: int = 20,
    include_deleted: bool = False,
    tag: str | None = None,
    campaign_id: str | None = None,
    test: bool | None = None,
) -> list[JobView]:
    """Jobs newest first, at most `limit`: one user's or everyone's, one status or all, those
    tagged `tag` or all, one campaign's or all."""
    conditions = [] if include_deleted else ["j.deleted_at IS NULL"]
    params: dict[str, Any] = {"limit": limit}
    if test is not None:  # live or test-mode jobs only (None: both)
        conditions.append("j.is_test = :test")
        params["test"] = test
    if tag is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM job_tags t WHERE t.run_id = j.uuid AND t.tag = :tag)"
        )
        params["tag"] = tag
    for column, name, value in (
        ("j.user_id =", "user_id", user_id),
        ("j.status =", "status", status),
        ("j.seq <", "before_seq", before_seq),
        ("j.campaign_id =", "campaign_id", campaign_id),
    ):
        if value is not None:
            conditions.append(f"{column} :{name}")
            params[name] = value
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = f"{_JOBS}{where} ORDER BY j.seq DESC LIMIT :limit"
    return [JobView.from_row(row) for row in query(sql, params)]


def user_exists(query: Query, user_id: str) -> bool:
    return bool(query("SELECT 1 AS found FROM users WHERE id = :user_id", {"user_id": user_id}))


def read_items(query: Query, run_id: str) -> list[ItemView]:
    return [ItemView.from_row(row) for row in query(_ITEMS, {"run_id": run_id})]


def read_deliveries(
    query: Query, *, run_id: str | None = None, ids: Sequence[int] | None = None
) -> list[DeliveryView]:
    """A job's webhook deliveries (or those with the given ids) in order, with their attempts."""
    if (run_id is None) == (ids is None):
        raise TypeError("give either run_id or ids")
    if ids is not None:
        if not ids:
            return []
        names = [f"id{n}" for n in range(len(ids))]
        where = f"d.id IN ({', '.join(':' + name for name in names)})"
        params: dict[str, Any] = dict(zip(names, ids, strict=True))
    else:
        where, params = "d.run_id = :run_id", {"run_id": run_id}
    sql = f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE {where} ORDER BY d.id"
    rows = query(sql, params)
    if not rows:
        return []
    attempts: dict[int, list[AttemptView]] = {row["id"]: [] for row in rows}
    attempt_rows = query(
        f"SELECT {_ATTEMPT_COLUMNS} FROM webhook_attempts a"
        f" JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE {where} ORDER BY a.id",
        params,
    )
    for row in attempt_rows:
        attempts[row["delivery_id"]].append(AttemptView.from_row(row))
    return [DeliveryView.from_row(row, tuple(attempts[row["id"]])) for row in rows]
