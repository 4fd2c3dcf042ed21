"""Schedules: a preset or a template started at the times of a cron expression."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException

from ..db.schedules import ScheduleRunView, ScheduleView
from ..runs import schedules
from .deps import ServicesDep, UserDep
from .errors import responses
from .models_schedules import (
    ScheduleDetailOut,
    ScheduleIn,
    ScheduleListOut,
    ScheduleOut,
    ScheduleRunOut,
)
from .routes_runs import webhook_of

router = APIRouter(tags=["schedules"])
SCHEDULE = "/api/schedules/{schedule_id}"


def _run_out(run: ScheduleRunView) -> ScheduleRunOut:
    return ScheduleRunOut(
        scheduled_for=run.scheduled_for.isoformat(),
        outcome=run.outcome,  # type: ignore[arg-type]
        run_id=run.run_id,
        reason=run.reason,
        at=run.created_at.isoformat(),
    )


def _fields(schedule: ScheduleView) -> dict[str, object]:
    return {
        "schedule_id": schedule.id,
        "preset_id": schedule.preset_id,
        "template_id": schedule.template_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "generation_count": schedule.generation_count,
        "webhook_url": schedule.webhook_url,
        "webhook_events": schedule.webhook_events,
        "status": schedule.status,
        "next_run_at": schedule.next_run_at.isoformat() if schedule.next_run_at else None,
        "next_runs": [t.isoformat() for t in schedules.upcoming(schedule)],
        "last": _run_out(schedule.last) if schedule.last else None,
        "created_at": schedule.created_at.isoformat(),
    }


def _out(schedule: ScheduleView) -> ScheduleOut:
    return ScheduleOut.model_validate(_fields(schedule))


@router.post(
    "/api/schedules",
    status_code=201,
    response_model=ScheduleOut,
    responses=responses(404, 409),
    summary="Start a preset or a template at the times of a cron expression",
)
def create(body: ScheduleIn, user: UserDep, services: ServicesDep) -> ScheduleOut:
    if user.test_mode:  # a schedule spends credits at its times: made with the live key
        raise HTTPException(409, "schedules start live runs: create one with your live API key")
    try:
        made = schedules.create_schedule(
            services.database,
            user.id,
            preset_id=None if body.preset_id is None else str(body.preset_id),
            template_id=None if body.template_id is None else str(body.template_id),
            cron=body.cron,
            timezone=body.timezone,
            generation_count=body.generation_count,
            webhook=webhook_of(body),
            allow_private_webhooks=services.settings.webhook_allow_private,
        )
    except schedules.TooManySchedules as exc:
        raise HTTPException(409, str(exc)) from None
    return _out(made)


@router.get("/api/schedules", response_model=ScheduleListOut, responses=responses())
def list_all(user: UserDep, services: ServicesDep) -> ScheduleListOut:
    """Your schedules, oldest first, each with its next times and what its last time came to."""
    found = schedules.schedules_of(services.database, user.id)
    return ScheduleListOut(schedules=[_out(s) for s in found])


@router.get(SCHEDULE, response_model=ScheduleDetailOut, responses=responses(404))
def show(schedule_id: uuid.UUID, user: UserDep, services: ServicesDep) -> ScheduleDetailOut:
    """One schedule with its newest due times: each run it started, or why it could not."""
    found, history = schedules.owned_schedule(services.database, user.id, str(schedule_id))
    return ScheduleDetailOut.model_validate(
        {**_fields(found), "history": [_run_out(run) for run in history]}
    )


@router.post(SCHEDULE + "/pause", response_model=ScheduleOut, responses=responses(404))
def pause(schedule_id: uuid.UUID, user: UserDep, services: ServicesDep) -> ScheduleOut:
    return _out(schedules.pause_schedule(services.database, user.id, str(schedule_id)))


@router.post(
    SCHEDULE + "/resume",
    response_model=ScheduleOut,
    responses=responses(404),
    summary="Start again at the first time after now (times missed while paused are not made up)",
)
def resume(schedule_id: uuid.UUID, user: UserDep, services: ServicesDep) -> ScheduleOut:
    return _out(schedules.resume_schedule(services.database, user.id, str(schedule_id)))


@router.delete(SCHEDULE, response_model=ScheduleOut, responses=responses(404))
def delete(schedule_id: uuid.UUID, user: UserDep, services: ServicesDep) -> ScheduleOut:
    return _out(schedules.delete_schedule(services.database, user.id, str(schedule_id)))
