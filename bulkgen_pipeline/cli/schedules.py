"""`bulkgen schedules list`: the merchants' schedules, for an operator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from ..config import Settings
from .common import database, emit, fail, main


@main.group("schedules")
def schedules_group() -> None:
    """The merchants' schedules (POST /api/schedules; the scheduled_starts sensor starts them)."""


@schedules_group.command("list")
@click.option("--user", "user_id", help="Only this user's schedules")
def schedules_list(user_id: str | None) -> None:
    """Every schedule (or one user's), oldest first: when it starts next, in UTC, and what its
    last time came to (the run started, or why it was skipped)."""
    from ..runs.errors import NotFound
    from ..runs.schedules import schedules_of, upcoming

    try:
        found = schedules_of(database(Settings.from_env()), user_id)
    except NotFound as exc:
        fail(str(exc))
    emit([_shown(schedule, upcoming(schedule, 3)) for schedule in found])


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _shown(schedule: Any, next_runs: list[datetime]) -> dict[str, Any]:
    last = schedule.last
    return {
        "schedule_id": schedule.id,
        "user_id": schedule.user_id,
        "preset_id": schedule.preset_id,
        "template_id": schedule.template_id,
        "cron": schedule.cron,
        "timezone": schedule.timezone,
        "generation_count": schedule.generation_count,
        "status": schedule.status,
        "next_run_at": _when(schedule.next_run_at),
        "next_runs": [_when(moment) for moment in next_runs],
        "last": None
        if last is None
        else {
            "scheduled_for": _when(last.scheduled_for),
            "outcome": last.outcome,
            "run_id": last.run_id,
            "reason": last.reason,
        },
    }
