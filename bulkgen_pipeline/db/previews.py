"""Previews stored for review before paying: saved, read back, and marked started."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import Preview


@dataclass(frozen=True)
class PreviewView:
    id: str
    user_id: str
    preset_id: str | None
    snapshot: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    started_run_id: str | None


def save_preview(
    session: Session,
    *,
    preview_id: str,
    user_id: str,
    preset_id: str | None,
    snapshot: dict[str, Any],
    created_at: datetime,
    expires_at: datetime,
) -> None:
    session.add(
        Preview(
            id=preview_id,
            user_id=user_id,
            preset_id=preset_id,
            snapshot=snapshot,
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    session.flush()


def get_preview(
    session: Session, preview_id: str, *, for_update: bool = False
) -> PreviewView | None:
    query = select(Preview).where(Preview.id == preview_id)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        return None
    return PreviewView(
        row.id,
        row.user_id,
        row.preset_id,
        row.snapshot,
        row.created_at,
        row.expires_at,
        row.started_run_id,
    )


def mark_preview_started(session: Session, preview_id: str, run_id: str) -> None:
    row = session.get(Preview, preview_id)
    assert row is not None
    row.started_run_id = run_id
    session.flush()
