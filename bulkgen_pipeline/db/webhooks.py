"""The webhook outbox: deliveries due, claimed by one sender at a time, and every attempt.

Rows are written by `events.append_event` in the transaction of the event itself. A sender
claims a due delivery by pushing its `next_attempt_at` forward with a conditional UPDATE (only
one of several senders wins), POSTs it, then records the attempt and either marks it delivered
or schedules the next try, until the retry schedule (more than an hour in all) runs out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.engine import query_of
from bulkgen_pipeline.db.errors import UnknownUser
from bulkgen_pipeline.db.models import User, WebhookAttempt, WebhookDelivery, utcnow
from bulkgen_pipeline.domain.statuses import DeliveryStatus
from bulkgen_pipeline.readmodel import DeliveryView, read_deliveries

# Seconds to wait after the n-th failed attempt: 9 tries over about 2 hours.
RETRY_SCHEDULE_S = (5, 30, 120, 300, 600, 1200, 1800, 3600)
CLAIM_SECONDS = 60  # a sender that dies mid-delivery leaves it to be picked up again after this


def list_deliveries(session: Session, run_id: str) -> list[DeliveryView]:
    """The job's deliveries in order, each with its attempts."""
    return read_deliveries(query_of(session), run_id=run_id)


def has_due(session: Session, now: datetime | None = None) -> bool:
    """Whether any pending delivery is due: a read, so an idle sender polling every second
    never takes SQLite's write lock."""
    now = now or utcnow()
    return (
        session.scalar(
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
            )
            .limit(1)
        )
        is not None
    )


def claim_due(session: Session, now: datetime | None = None, limit: int = 20) -> list[DeliveryView]:
    """Pending deliveries whose time has come, claimed for CLAIM_SECONDS by this caller."""
    now = now or utcnow()
    due = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for row in due:
        won = session.execute(  # an UPDATE: a CursorResult, which counts rows
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == row.id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if won == 1:
            claimed.append(row.id)
    return read_deliveries(query_of(session), ids=claimed)


def record_attempt(
    session: Session,
    delivery_id: int,
    *,
    delivered: bool,
    status_code: int | None,
    error: str | None,
    duration_ms: int | None,
    now: datetime | None = None,
) -> str:
    """Log one attempt; the delivery becomes delivered, is rescheduled, or (schedule spent)
    failed. Returns its status."""
    now = now or utcnow()
    row = session.get(WebhookDelivery, delivery_id)
    if row is None:
        return "gone"
    session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
    )
    row.attempts += 1
    row.last_status_code, row.last_error = status_code, error
    if delivered:
        row.status, row.delivered_at = DeliveryStatus.DELIVERED, now
    elif row.attempts > len(RETRY_SCHEDULE_S):
        row.status = DeliveryStatus.FAILED
    else:
        row.next_attempt_at = now + timedelta(seconds=RETRY_SCHEDULE_S[row.attempts - 1])
    session.flush()
    return row.status


def webhook_secret(session: Session, user_id: str) -> str | None:
    """The user's current signing secret (None: the user has none yet, or does not exist)."""
    return session.scalar(select(User.webhook_secret).where(User.id == user_id))


def set_webhook_secret(session: Session, user_id: str, secret: str) -> None:
    """Replace the user's signing secret; raises UnknownUser when there is no such user."""
    changed = session.execute(
        update(User).where(User.id == user_id).values(webhook_secret=secret)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise UnknownUser(user_id)
