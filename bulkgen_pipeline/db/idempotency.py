"""Idempotency keys: the first answer to a request, replayed for the same key for 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import IdempotencyKey, utcnow

KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    response: dict[str, Any]


def stored_answer(session: Session, user_id: str, key: str) -> StoredAnswer | None:
    """The answer stored for (user, key) within the last 24 hours, if any."""
    row = session.get(IdempotencyKey, (user_id, key))
    if row is None or row.created_at < utcnow() - KEY_LIFETIME:
        return None
    return StoredAnswer(row.request_hash, row.status_code, dict(row.response))


def store_answer(
    session: Session,
    user_id: str,
    key: str,
    *,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Keep the answer (replacing one older than 24 hours). Caller holds the user lock."""
    row = session.get(IdempotencyKey, (user_id, key))
    if row is None:
        session.add(
            IdempotencyKey(
                user_id=user_id,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                response=response,
                created_at=utcnow(),
            )
        )
    else:
        row.request_hash, row.status_code, row.response = request_hash, status_code, response
        row.created_at = utcnow()
    session.flush()
