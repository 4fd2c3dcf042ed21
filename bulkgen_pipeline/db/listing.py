"""Operators' listing of jobs across users (the API lists one user's jobs: db/jobs.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import BackendJob


def job_ids(
    session: Session, *, user_id: str | None = None, status: str | None = None, limit: int = 50
) -> list[str]:
    """Ids of the newest `limit` jobs, optionally of one user and/or in one status."""
    stmt = select(BackendJob.uuid).order_by(BackendJob.seq.desc()).limit(limit)
    if user_id is not None:
        stmt = stmt.where(BackendJob.user_id == user_id)
    if status is not None:
        stmt = stmt.where(BackendJob.status == status)
    return list(session.scalars(stmt))
