"""Schedules and what each due time came to, each schedule its merchant's.

A due schedule is claimed by moving its `next_run_at` on with a conditional UPDATE (the time
it was due at must still be there): of two ticks or processes that see it due, one wins, and
a schedule starts at most once per time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.events import queue_delivery
from bulkgen_pipeline.db.models import BackendJob, Schedule, ScheduleRun, utcnow
from bulkgen_pipeline.domain.statuses import ScheduleOutcome, ScheduleStatus

ACTIVE = ScheduleStatus.ACTIVE.value
PAUSED = ScheduleStatus.PAUSED.value
STARTED = ScheduleOutcome.STARTED.value
SKIPPED = ScheduleOutcome.SKIPPED.value
SCHEDULE_SKIPPED = "schedule.skipped"
HISTORY_SHOWN = 20


@dataclass(frozen=True)
class ScheduleRunView:
    scheduled_for: datetime
    outcome: str  # started | skipped
    run_id: str | None
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class ScheduleView:
    id: str
    user_id: str
    preset_id: str | None
    template_id: str | None
    cron: str
    timezone: str
    generation_count: int | None
    webhook_url: str | None
    webhook_events: list[str] | None
    status: str
    next_run_at: datetime | None
    created_at: datetime
    last: ScheduleRunView | None = None  # the newest outcome


def _run_view(row: ScheduleRun) -> ScheduleRunView:
    return ScheduleRunView(row.scheduled_for, row.outcome, row.run_id, row.reason, row.created_at)


def _view(row: Schedule, last: ScheduleRun | None = None) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        user_id=row.user_id,
        preset_id=row.preset_id,
        template_id=row.template_id,
        cron=row.cron,
        timezone=row.timezone,
        generation_count=row.generation_count,
        webhook_url=row.webhook_url,
        webhook_events=list(row.webhook_events) if row.webhook_events is not None else None,
        status=row.status,
        next_run_at=row.next_run_at,
        created_at=row.created_at,
        last=_run_view(last) if last is not None else None,
    )


def add_schedule(session: Session, **fields: Any) -> ScheduleView:
    row = Schedule(status=ACTIVE, created_at=utcnow(), **fields)
    session.add(row)
    session.flush()
    return _view(row)


def get_schedule(session: Session, schedule_id: str) -> ScheduleView | None:
    row = session.get(Schedule, schedule_id)
    return None if row is None else _view(row, _last_runs(session, [schedule_id]).get(row.id))


def _last_runs(session: Session, schedule_ids: Sequence[str]) -> dict[str, ScheduleRun]:
    """Each schedule's newest outcome, in one query."""
    if not schedule_ids:
        return {}
    newest = (
        select(func.max(ScheduleRun.id))
        .where(ScheduleRun.schedule_id.in_(schedule_ids))
        .group_by(ScheduleRun.schedule_id)
    )
    rows = session.scalars(select(ScheduleRun).where(ScheduleRun.id.in_(newest)))
    return {row.schedule_id: row for row in rows}


def list_schedules(session: Session, user_id: str | None = None) -> list[ScheduleView]:
    """The merchant's schedules (everyone's for None), oldest first, each with its newest
    outcome."""
    query = select(Schedule).order_by(Schedule.created_at, Schedule.id)
    if user_id is not None:
        query = query.where(Schedule.user_id == user_id)
    rows = list(session.scalars(query))
    last = _last_runs(session, [row.id for row in rows])
    return [_view(row, last.get(row.id)) for row in rows]


def schedule_history(
    session: Session, schedule_id: str, limit: int = HISTORY_SHOWN
) -> list[ScheduleRunView]:
    """The schedule's newest outcomes, newest first."""
    rows = session.scalars(
        select(ScheduleRun)
        .where(ScheduleRun.schedule_id == schedule_id)
        .order_by(ScheduleRun.id.desc())
        .limit(limit)
    )
    return [_run_view(row) for row in rows]


def set_status(
    session: Session, schedule_id: str, status: str, next_run_at: datetime | None
) -> ScheduleView:
    row = session.get(Schedule, schedule_id)
    assert row is not None
    row.status, row.next_run_at = status, next_run_at
    session.flush()
    return get_schedule(session, schedule_id)  # type: ignore[return-value]


def delete_schedule(session: Session, schedule_id: str) -> None:
    session.execute(delete(ScheduleRun).where(ScheduleRun.schedule_id == schedule_id))
    session.execute(delete(Schedule).where(Schedule.id == schedule_id))


def due_schedules(session: Session, now: datetime, limit: int) -> list[ScheduleView]:
    """Active schedules due at `now`, the longest waiting first."""
    rows = session.scalars(
        select(Schedule)
        .where(Schedule.status == ACTIVE, Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at, Schedule.id)
        .limit(limit)
    )
    return [_view(row) for row in rows]


def claim_due(session: Session, schedule_id: str, due_at: datetime, next_run_at: datetime) -> bool:
    """Move the schedule's next time from `due_at` to `next_run_at`, if it is still active and
    still due at `due_at`; returns whether this caller did (and so starts it)."""
    moved = session.execute(  # an UPDATE: a CursorResult, which counts rows
        update(Schedule)
        .where(
            Schedule.id == schedule_id,
            Schedule.status == ACTIVE,
            Schedule.next_run_at == due_at,
        )
        .values(next_run_at=next_run_at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return moved == 1


def record_outcome(
    session: Session,
    schedule: ScheduleView,
    *,
    scheduled_for: datetime,
    run_id: str | None = None,
    reason: str | None = None,
    pause: bool = False,
) -> None:
    """Keep what the due time came to: the run started, or the reason it could not start, which
    also goes to the schedule's webhook as `schedule.skipped`. `pause` stops the schedule (its
    preset or template is gone: no later time could start either)."""
    now = utcnow()
    outcome = STARTED if run_id is not None else SKIPPED
    session.add(
        ScheduleRun(
            schedule_id=schedule.id,
            scheduled_for=scheduled_for,
            outcome=outcome,
            run_id=run_id,
            reason=reason,
            created_at=now,
        )
    )
    if pause:
        session.execute(
            update(Schedule)
            .where(Schedule.id == schedule.id)
            .values(status=PAUSED, next_run_at=None)
            .execution_options(synchronize_session=False)
        )
    if outcome == SKIPPED and schedule.webhook_url:
        queue_delivery(
            session,
            run_id=None,
            user_id=schedule.user_id,
            url=schedule.webhook_url,
            event_type=SCHEDULE_SKIPPED,
            data={
                "schedule_id": schedule.id,
                "reason": reason,
                "scheduled_for": scheduled_for.isoformat(),
                "paused": pause,
            },
            now=now,
        )
    session.flush()


def mark_job_scheduled(session: Session, run_id: str, schedule_id: str) -> None:
    """Note on the job the schedule that started it (in the start's own transaction)."""
    session.execute(
        update(BackendJob)
        .where(BackendJob.uuid == run_id)
        .values(schedule_id=schedule_id)
        .execution_options(synchronize_session=False)
    )
