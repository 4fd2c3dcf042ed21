"""Job events, in order, and the webhook outbox written in the same transaction.

Every status change and every finished item appends one `job_events` row; the event stream
(SSE) replays them by id. When the job asked for a webhook on that kind of event, a
`webhook_deliveries` row is written alongside, so a delivery exists if and only if the event
was committed (no event is lost between the database and the sender, and none is invented).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import BackendJob, JobEvent, WebhookDelivery, utcnow
from bulkgen_pipeline.domain.statuses import (
    DEFAULT_SUBSCRIPTIONS,
    SUBSCRIPTION_OF_STATUS,
    DeliveryStatus,
    JobStatus,
    WebhookSubscription,
)

STATUS_EVENT = "status"
ITEM_EVENT = "item"

# What a merchant subscribes to (`webhook_events`) and the Standard Webhooks `type` sent.
WEBHOOK_SUBSCRIPTIONS = tuple(s.value for s in WebhookSubscription)
DEFAULT_WEBHOOK_SUBSCRIPTIONS = tuple(s.value for s in DEFAULT_SUBSCRIPTIONS)


@dataclass(frozen=True)
class EventView:
    id: int
    run_id: str
    kind: str
    data: dict[str, Any]
    created_at: datetime


def webhook_type(kind: str, data: dict[str, Any]) -> str | None:
    """The subscription an event falls under (None: no webhook is ever sent for it)."""
    if kind == ITEM_EVENT:
        return WebhookSubscription.ITEM
    status = data.get("status")
    return SUBSCRIPTION_OF_STATUS.get(JobStatus(status)) if status else None


def append_event(session: Session, run_id: str, kind: str, data: dict[str, Any]) -> int:
    """Record an event of `run_id` (and its webhook delivery, if subscribed); returns its id."""
    now = utcnow()
    event = JobEvent(run_id=run_id, kind=kind, data=data, created_at=now)
    session.add(event)
    session.flush()
    subscription = webhook_type(kind, data)
    if subscription is not None:
        job = session.execute(
            select(
                BackendJob.user_id,
                BackendJob.webhook_url,
                BackendJob.webhook_events,
                BackendJob.is_test,
            ).where(BackendJob.uuid == run_id)
        ).one()
        wanted = job.webhook_events or DEFAULT_WEBHOOK_SUBSCRIPTIONS
        if job.webhook_url and subscription in wanted:
            event_type = f"item.{data['status']}" if kind == ITEM_EVENT else f"job.{subscription}"
            queue_delivery(
                session,
                run_id=run_id,
                user_id=job.user_id,
                url=job.webhook_url,
                event_type=event_type,
                data={"job_id": run_id, "event_id": event.id, **data},
                now=now,
                test=bool(job.is_test),
            )
    return event.id


def queue_delivery(
    session: Session,
    *,
    run_id: str | None,
    user_id: str,
    url: str,
    event_type: str,
    data: dict[str, Any],
    now: datetime,
    test: bool = False,
) -> None:
    """A signed webhook delivery of `event_type` to `url`, due now, in the outbox; the payload
    is the exact bytes the sender signs and sends. `run_id` is None for an event of no run
    (a schedule's `schedule.skipped`). A test-mode run's payloads say `"test": true`."""
    payload: dict[str, Any] = {"type": event_type, "timestamp": now.isoformat(), "data": data}
    if test:
        payload["test"] = True
    session.add(
        WebhookDelivery(
            webhook_id=f"msg_{uuid.uuid4().hex}",
            run_id=run_id,
            user_id=user_id,
            event_type=event_type,
            url=url,
            payload=json.dumps(payload, separators=(",", ":"), sort_keys=True),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    session.flush()


def events_after(
    session: Session, run_id: str, after_id: int = 0, limit: int = 500
) -> list[EventView]:
    rows = session.scalars(
        select(JobEvent)
        .where(JobEvent.run_id == run_id, JobEvent.id > after_id)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return [EventView(r.id, r.run_id, r.kind, dict(r.data), r.created_at) for r in rows]
