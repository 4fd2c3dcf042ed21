"""Reviewing a run's prompts before paying: the start modal's "Review prompts" makes a
preview and shows its prompts to edit or remove; starting from there makes exactly those."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.priority import Priority
from ..runs.models import model_catalogue
from ..runs.previews import PreviewUnavailable, preview_run, stored_preview
from ..runs.queueing import NotFound, start_run
from .pages import MerchantDep, canonical_id, checked_form, not_found, redirect, render
from .preset_form import form_number
from .starting import REFUSALS, show_refused, show_started, start_caps

router = APIRouter(include_in_schema=False)


@router.post("/presets/{preset_id}/review")
async def review(request: Request, who: MerchantDep, preset_id: str) -> Response:
    form = await checked_form(request, who)
    count = str(form.get("generation_count") or "").strip()
    try:
        made = preview_run(
            who.services.database,
            user_id=who.signed_in_user.id,
            preset_id=canonical_id(preset_id),
            count=form_number(count) if count else None,
        )
    except NotFound:
        return not_found(request, who)
    except REFUSALS as exc:
        return show_refused(request, who, exc, "/presets", why="No preview")
    model = made.request.preset.config.model if made.request.preset else None
    prices = {entry["id"]: entry["credits_per_image"] for entry in model_catalogue()}
    return render(
        request,
        who,
        "review.html",
        nav="presets",
        preview=made.as_json(),
        name=made.request.name,
        price=prices.get(model or "", 1),
        priority=str(form.get("priority") or Priority.NORMAL),
    )


@router.post("/previews/{preview_id}/start")
async def start_reviewed(request: Request, who: MerchantDep, preview_id: str) -> Response:
    form = await checked_form(request, who)
    user_id = who.signed_in_user.id
    try:
        shown = stored_preview(who.services.database, user_id, canonical_id(preview_id))
        priority = Priority(str(form.get("priority") or Priority.NORMAL))
    except NotFound:
        return not_found(request, who)
    except ValueError:
        who.session.set_flash("error", "The run did not start: priority must be normal or high")
        return redirect(request, who, "/presets")
    assert shown.request.reviewed is not None
    edits: list[dict[str, object]] = []
    for spec in shown.request.reviewed.generations:
        index = spec.generation
        text = str(form.get(f"prompt-{index}") or "")
        if form.get(f"remove-{index}") == "on":
            edits.append({"generation_index": index, "remove": True})
        elif text.strip() != spec.prompt.strip():
            edits.append({"generation_index": index, "prompt": text})
    try:
        started = start_run(
            who.services.database,
            user_id=user_id,
            preview_id=shown.preview_id,
            edits=edits,
            priority=priority,
            **start_caps(who),
        )
    except (*REFUSALS, PreviewUnavailable) as exc:
        return show_refused(request, who, exc, "/presets")
    return show_started(request, who, started)
