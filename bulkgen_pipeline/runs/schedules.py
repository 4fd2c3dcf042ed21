"""Schedules: a preset or a template started at the times of a cron expression in an IANA time
zone. The API, the console and the CLI read and change them here; the `scheduled_starts`
sensor calls `start_due` on each tick.

Every start goes through `start_run`, with the same checks and reservation as a start from the
API. A start that cannot happen (not enough credits, the daily image limit, too many active
jobs, the preset or template deleted) is recorded with its reason and sent to the schedule's
webhook as `schedule.skipped`; a schedule whose preset or template is gone is paused, since no
later time could start either.

Missed times are not made up: a schedule due several times while nothing ticked (the daemon
was down) starts once, and its next time is the first after now. Each due time is claimed
before its start (`db.schedules.claim_due`): however many ticks or processes see it, it starts
at most once; a process that dies between the claim and the start loses that one time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import db
from ..config import Settings
from ..db import schedules as stored
from ..db.models import utcnow
from ..db.templates import TemplateView, get_template, list_templates
from ..domain.cron import NEXT_TIMES_SHOWN, check_schedule, next_time, next_times
from ..domain.errors import FieldProblem, InvalidInput
from ..domain.limits import DailyLimitReached
from ..webhooks.policy import WebhookUrlRejected, check_webhook_url
from .errors import NotFound
from .preflight import CannotExecute
from .queueing import TooManyActiveJobs, Webhook, preset_request_for, start_run

MAX_SCHEDULES = 100  # a merchant's, paused ones included
DUE_PER_TICK = 100


class TooManySchedules(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            f"you already have {MAX_SCHEDULES} schedules, the most allowed; delete one first"
        )


@dataclass(frozen=True)
class Due:
    """What one due time of a schedule came to: `run_id` started, or `reason` it could not."""

    schedule_id: str
    user_id: str
    scheduled_for: datetime
    run_id: str | None
    reason: str | None
    paused: bool = False


def upcoming(schedule: stored.ScheduleView, count: int = NEXT_TIMES_SHOWN) -> list[datetime]:
    """The schedule's next `count` times (none while paused), its due one first."""
    if schedule.status != stored.ACTIVE or schedule.next_run_at is None:
        return []
    later = next_times(schedule.cron, schedule.timezone, schedule.next_run_at, count - 1)
    return [schedule.next_run_at, *later]


def create_schedule(
    database: db.Database,
    user_id: str,
    *,
    preset_id: str | None,
    template_id: str | None,
    cron: str,
    timezone: str,
    generation_count: int | None = None,
    webhook: Webhook | None = None,
    allow_private_webhooks: bool = False,
    now: datetime | None = None,
) -> stored.ScheduleView:
    """Keep a schedule of the caller's preset or template: InvalidInput naming the field (the
    source, `cron`, `timezone`, `generation_count`, `webhook_url`), NotFound for a preset or
    template that is not theirs, TooManySchedules past MAX_SCHEDULES."""
    if (preset_id is None) == (template_id is None):
        raise InvalidInput([FieldProblem("preset_id", "give either preset_id or template_id")])
    if template_id is not None and generation_count is not None:
        problem = "a template's prompts are its count: leave it out"
        raise InvalidInput([FieldProblem("generation_count", problem)])
    cron, first = check_schedule(cron, timezone, now or utcnow())
    if webhook is not None:
        try:
            check_webhook_url(webhook.url, allow_private=allow_private_webhooks)
        except WebhookUrlRejected as exc:
            raise InvalidInput([FieldProblem("webhook_url", str(exc))]) from None
    with database.session() as session:
        if preset_id is not None:
            # The preset is the caller's and the count one a start would take (PresetValidationError
            # naming generation_count), as it is now; each start checks again.
            preset_request_for(session, user_id, preset_id, generation_count, None, None)
        else:
            template = get_template(session, str(template_id))
            if template is None or template.user_id != user_id:
                raise NotFound(f"template '{template_id}' does not exist")
        if len(stored.list_schedules(session, user_id)) >= MAX_SCHEDULES:
            raise TooManySchedules()
        return stored.add_schedule(
            session,
            id=str(uuid.uuid4()),
            user_id=user_id,
            preset_id=preset_id,
            template_id=template_id,
            cron=cron,
            timezone=timezone,
            generation_count=generation_count,
            webhook_url=webhook.url if webhook else None,
            webhook_events=webhook.events if webhook else None,
            next_run_at=first,
        )


def schedules_of(database: db.Database, user_id: str | None) -> list[stored.ScheduleView]:
    """The merchant's schedules, each with its newest outcome (everyone's for None: the
    operator's `bulkgen schedules list`)."""
    with database.session(readonly=True) as session:
        if user_id is not None and db.get_user(session, user_id) is None:
            raise NotFound(f"user '{user_id}' does not exist")
        return stored.list_schedules(session, user_id)


def _owned(session: Any, user_id: str, schedule_id: str) -> stored.ScheduleView:
    found = stored.get_schedule(session, schedule_id)
    if found is None or found.user_id != user_id:
        raise NotFound(f"schedule '{schedule_id}' does not exist")
    return found


def owned_schedule(
    database: db.Database, user_id: str, schedule_id: str
) -> tuple[stored.ScheduleView, list[stored.ScheduleRunView]]:
    """The caller's schedule and its newest outcomes (NotFound for anyone else's)."""
    with database.session(readonly=True) as session:
        found = _owned(session, user_id, schedule_id)
        return found, stored.schedule_history(session, schedule_id)


def pause_schedule(database: db.Database, user_id: str, schedule_id: str) -> stored.ScheduleView:
    """No start until resumed (pausing a paused schedule changes nothing)."""
    with database.session() as session:
        _owned(session, user_id, schedule_id)
        return stored.set_status(session, schedule_id, stored.PAUSED, None)


def resume_schedule(
    database: db.Database, user_id: str, schedule_id: str, now: datetime | None = None
) -> stored.ScheduleView:
    """Start again at the first time after now (the times missed while paused are not made
    up); an active schedule is left as it is."""
    with database.session() as session:
        found = _owned(session, user_id, schedule_id)
        if found.status == stored.ACTIVE:
            return found
        following = next_time(found.cron, found.timezone, now or utcnow())
        return stored.set_status(session, schedule_id, stored.ACTIVE, following)


def delete_schedule(database: db.Database, user_id: str, schedule_id: str) -> stored.ScheduleView:
    """Remove the caller's schedule and its history; returns it as it was. Runs it started
    keep their `schedule_id`."""
    with database.session() as session:
        found = _owned(session, user_id, schedule_id)
        stored.delete_schedule(session, schedule_id)
    return found


def start_due(
    database: db.Database,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
    limit: int = DUE_PER_TICK,
) -> list[Due]:
    """Start (or skip, with its reason) every active schedule due at `now`, at most `limit`,
    the longest waiting first; each schedule's next time becomes the first after `now`."""
    now = now or utcnow()
    settings = settings or Settings.from_env()
    with database.session(readonly=True) as session:
        due = stored.due_schedules(session, now, limit)
    outcomes = []
    for schedule in due:
        scheduled_for = schedule.next_run_at
        assert scheduled_for is not None
        following = next_time(schedule.cron, schedule.timezone, now)
        with database.session() as session:
            if not stored.claim_due(session, schedule.id, scheduled_for, following):
                continue  # another tick took it
        run_id, reason, paused = _start(database, schedule, settings)
        with database.session() as session:
            stored.record_outcome(
                session,
                schedule,
                scheduled_for=scheduled_for,
                run_id=run_id,
                reason=reason,
                pause=paused,
            )
        outcomes.append(Due(schedule.id, schedule.user_id, scheduled_for, run_id, reason, paused))
    return outcomes


def _start(
    database: db.Database, schedule: stored.ScheduleView, settings: Settings
) -> tuple[str | None, str | None, bool]:
    """(the run started, or None and the reason it could not, and whether the schedule is to
    be paused)."""
    source = "preset" if schedule.preset_id is not None else "template"
    webhook = (
        Webhook(schedule.webhook_url, schedule.webhook_events) if schedule.webhook_url else None
    )
    start: dict[str, Any] = {
        "user_id": schedule.user_id,
        "schedule_id": schedule.id,
        "webhook": webhook,
        "max_active_jobs": settings.max_active_jobs_per_user,
        "allow_private_webhooks": settings.webhook_allow_private,
        "settings": settings,
    }
    try:
        if schedule.preset_id is not None:
            count = schedule.generation_count
            started = start_run(database, preset_id=schedule.preset_id, count=count, **start)
        else:
            with database.session(readonly=True) as session:
                template = get_template(session, str(schedule.template_id))
            if template is None or template.user_id != schedule.user_id:
                raise NotFound(f"template '{schedule.template_id}' does not exist")
            started = start_run(database, batch=template.batch, **start)
    except NotFound:
        return None, f"the {source} was deleted; the schedule is paused", True
    except (db.InsufficientCredits, DailyLimitReached, TooManyActiveJobs) as exc:
        return None, str(exc), False
    except CannotExecute as exc:
        return None, f"cannot run now: {exc.reason}", False
    except InvalidInput as exc:
        return None, f"not valid as it is now: {exc}", False
    return started.job_id, None, False


def schedule_sources(
    database: db.Database, user_id: str
) -> tuple[list[db.PresetView], list[TemplateView]]:
    """What the merchant may schedule: their presets and their templates (the console's
    form lists them)."""
    with database.session(readonly=True) as session:
        return db.list_presets(session, user_id), list_templates(session, user_id)
