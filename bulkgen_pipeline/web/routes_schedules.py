"""Schedules: a preset or a template started at the times of a cron expression, kept, paused,
resumed and deleted from one page, over the use cases the API calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.cron import timezones
from ..domain.errors import InvalidInput
from ..domain.presets import MAX_GENERATIONS
from ..runs import schedules
from ..runs.preflight import CannotExecute
from ..runs.queueing import NotFound
from .pages import MerchantDep, Visitor, canonical_id, checked_form, redirect, render
from .preset_form import optional_number

router = APIRouter(include_in_schema=False)
PAGE = "/schedules"


@dataclass
class ScheduleForm:
    values: dict[str, str] = field(
        default_factory=lambda: {"source": "", "cron": "0 9 * * 1-5", "timezone": "UTC"}
    )
    errors: dict[str, list[str]] = field(default_factory=dict)


def _page(request: Request, who: Visitor, form: ScheduleForm, status: int = 200) -> Response:
    user_id = who.signed_in_user.id
    database = who.services.database
    presets, templates = schedules.schedule_sources(database, user_id)
    names = {p.id: p.name for p in presets} | {t.id: t.name for t in templates}
    rows = [
        {"schedule": s, "source": names.get(s.preset_id or s.template_id or "", "(deleted)")}
        | {"next_runs": schedules.upcoming(s, 3)}
        for s in schedules.schedules_of(database, user_id)
    ]
    return render(
        request,
        who,
        "schedules.html",
        status_code=status,
        nav="schedules",
        form=form,
        rows=rows,
        presets=presets,
        templates=templates,
        timezones=timezones(),
        max_generations=MAX_GENERATIONS,
    )


@router.get(PAGE)
def schedules_page(request: Request, who: MerchantDep) -> Response:
    return _page(request, who, ScheduleForm())


def _source(value: str) -> dict[str, Any]:
    """`preset:<id>` or `template:<id>`, as the form's select sends it."""
    kind, _, wanted = value.partition(":")
    if kind not in ("preset", "template") or not wanted:
        return {"preset_id": None, "template_id": None}
    key = "preset_id" if kind == "preset" else "template_id"
    return {"preset_id": None, "template_id": None, key: canonical_id(wanted)}


@router.post(PAGE)
async def create(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    shown = ScheduleForm(
        values={name: str(form.get(name) or "") for name in ("source", "cron", "timezone")}
        | {"generation_count": str(form.get("generation_count") or "")}
    )
    try:
        source = _source(shown.values["source"])
        count = optional_number(shown.values["generation_count"])
        made = schedules.create_schedule(
            who.services.database,
            who.signed_in_user.id,
            cron=shown.values["cron"],
            timezone=shown.values["timezone"],
            generation_count=count if source["preset_id"] else None,
            **source,
        )
    except InvalidInput as exc:
        for problem in exc.problems:
            where = "source" if problem.field in ("preset_id", "template_id") else problem.field
            shown.errors.setdefault(where, []).append(problem.message)
        return _page(request, who, shown, status=422)
    except CannotExecute as exc:
        shown.errors.setdefault("source", []).append(exc.reason)
        return _page(request, who, shown, status=422)
    except (NotFound, schedules.TooManySchedules) as exc:
        shown.errors.setdefault("source", []).append(
            "that preset or template no longer exists" if isinstance(exc, NotFound) else str(exc)
        )
        return _page(request, who, shown, status=422)
    who.session.set_flash("ok", f"Schedule saved: it starts next at {_at(made.next_run_at)}.")
    return redirect(request, who, PAGE)


def _at(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


@router.post(PAGE + "/{schedule_id}/{action}")
async def change(request: Request, who: MerchantDep, schedule_id: str, action: str) -> Response:
    await checked_form(request, who)
    act = {
        "pause": schedules.pause_schedule,
        "resume": schedules.resume_schedule,
        "delete": schedules.delete_schedule,
    }.get(action)
    try:
        if act is None:
            raise NotFound(action)
        done = act(who.services.database, who.signed_in_user.id, canonical_id(schedule_id))
    except NotFound:
        return render(request, who, "not_found.html", status_code=404)
    message = {
        "pause": "Schedule paused: nothing starts until you resume it.",
        "resume": f"Schedule resumed: it starts next at {_at(done.next_run_at)}.",
        "delete": "Schedule deleted; the runs it started stay.",
    }[action]
    who.session.set_flash("ok", message)
    return redirect(request, who, PAGE)
