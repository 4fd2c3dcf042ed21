"""Presets: the list with a play button, the create and edit forms, starting a run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import db
from ..domain.errors import InvalidInput
from ..domain.kinds import config_sizes
from ..domain.presets import is_random
from ..domain.priority import Priority
from ..domain.schema import load_category_schema
from ..runs import listing, presets
from ..runs.models import model_catalogue
from ..runs.presets import create_preset
from ..runs.queueing import NotFound, start_run
from .pages import MerchantDep, Visitor, canonical_id, checked_form, not_found, redirect, render
from .preset_form import (
    CHANGE_CATEGORY,
    PresetForm,
    blank_form,
    form_choices,
    form_from_preset,
    form_number,
    place_problems,
    preset_from_form,
    random_space,
)
from .starting import REFUSALS, show_refused, show_started, start_caps

router = APIRouter(include_in_schema=False)


def _summary(preset: db.PresetView, schema: Any) -> list[tuple[str, str]]:
    config = preset.config
    attributes = schema.attributes(preset.category) if schema.has_category(preset.category) else {}
    fixed = [f"{k} {config[k]}" for k in attributes if not is_random(config.get(k))]
    drawn = [k for k in attributes if is_random(config.get(k))]
    background = config.get("background")
    rows = [
        ("Category", preset.category),
        ("Fixed", ", ".join(fixed) or "nothing"),
        ("Random", ", ".join(drawn) or "nothing"),
        ("Model", "on" if config.get("use_model") else "off"),
        ("Background", "random" if is_random(background) else str(background)),
    ]
    sizes = config.get("dimensions") or {}
    shown = [
        size.get("aspect_ratio") or f"{size.get('width', 1024)} × {size.get('height', 1024)} px"
        for size in (sizes if isinstance(sizes, list) else [sizes])
    ]
    rows.append(("Sizes" if len(shown) > 1 else "Size", ", ".join(shown)))
    return rows


def _space(preset: db.PresetView, schema: Any) -> int | None:
    try:
        return random_space(preset.name, preset.category, preset.config, schema)
    except InvalidInput:  # a preset stored under an older schema
        return None


@router.get("/presets")
def list_page(request: Request, who: MerchantDep) -> Response:
    user = who.signed_in_user
    schema = load_category_schema()
    found, last = listing.presets_and_last_runs(who.services.database, user.id)
    prices = {model["id"]: model["credits_per_image"] for model in model_catalogue()}
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "created_at": p.created_at,
            "category": p.category,
            "count": p.config.get("generation_count", 5),
            # Credits per image: its chosen model's price (1 when bulkgen chooses).
            "price": prices.get(p.config.get("model") or "", 1),
            # Each generation is made once per size: a generation costs price × sizes.
            "sizes": len(config_sizes(p.config)),
            "space": _space(p, schema),
            "last_run": last.get(p.id),
            "summary": _summary(p, schema),
            "palette": p.config.get("color_palette") or [],
            "strategy": p.config.get("color_strategy", "cycling"),
        }
        for p in found
    ]
    return render(request, who, "presets.html", nav="presets", presets=rows)


def _form_page(
    request: Request, who: Visitor, form: PresetForm, preset_id: str | None, status: int = 200
) -> Response:
    choices = form_choices(load_category_schema(), form.category, models=model_catalogue())
    return render(
        request,
        who,
        "preset_form.html",
        status_code=status,
        nav="presets",
        form=form,
        choices=choices,
        preset_id=preset_id,
        change_category=CHANGE_CATEGORY,
    )


@router.get("/presets/new")
def new_page(request: Request, who: MerchantDep, category: str | None = None) -> Response:
    schema = load_category_schema()
    chosen = category if category and schema.has_category(category) else schema.categories[0]
    return _form_page(request, who, blank_form(chosen), None)


@router.post("/presets/new")
async def create(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    schema = load_category_schema()
    document, shown = preset_from_form(form, schema)
    if form.get("intent") == CHANGE_CATEGORY:  # not to be saved yet: shown again as typed
        if not schema.has_category(shown.category):
            shown.category = schema.categories[0]
        return _form_page(request, who, shown, None)
    try:
        create_preset(who.services.database, who.signed_in_user.id, document, schema)
    except InvalidInput as exc:
        place_problems(shown, exc.problems, schema)
        return _form_page(request, who, shown, None, status=422)
    who.session.set_flash("ok", f"Preset “{document['name'].strip()}” created.")
    return redirect(request, who, "/presets")


@router.get("/presets/{preset_id}/edit")
def edit_page(request: Request, who: MerchantDep, preset_id: str) -> Response:
    try:
        wanted = canonical_id(preset_id)
        preset = presets.get_preset(who.services.database, who.signed_in_user.id, wanted)
    except NotFound:
        return not_found(request, who)
    return _form_page(
        request, who, form_from_preset(preset.name, preset.category, preset.config), preset.id
    )


@router.post("/presets/{preset_id}/edit")
async def edit(request: Request, who: MerchantDep, preset_id: str) -> Response:
    form = await checked_form(request, who)
    schema = load_category_schema()
    document, shown = preset_from_form(form, schema)
    try:
        wanted = canonical_id(preset_id)
        presets.replace_preset(
            who.services.database, who.signed_in_user.id, wanted, document, schema
        )
    except NotFound:
        return not_found(request, who)
    except InvalidInput as exc:
        place_problems(shown, exc.problems, schema)
        return _form_page(request, who, shown, wanted, status=422)
    who.session.set_flash("ok", f"Preset “{document['name'].strip()}” saved.")
    return redirect(request, who, "/presets")


@router.post("/presets/{preset_id}/delete")
async def delete(request: Request, who: MerchantDep, preset_id: str) -> Response:
    await checked_form(request, who)
    try:
        wanted = canonical_id(preset_id)
        presets.delete_preset(who.services.database, who.signed_in_user.id, wanted)
    except NotFound:
        return not_found(request, who)
    who.session.set_flash("ok", "Preset deleted; its runs stay.")
    return redirect(request, who, "/presets")


@router.post("/presets/{preset_id}/start")
async def start(request: Request, who: MerchantDep, preset_id: str) -> Response:
    form = await checked_form(request, who)
    count = str(form.get("generation_count") or "").strip()
    try:
        priority = Priority(str(form.get("priority") or Priority.NORMAL))
    except ValueError:
        who.session.set_flash("error", "The run did not start: priority must be normal or high")
        return redirect(request, who, "/presets")
    try:
        started = start_run(
            who.services.database,
            user_id=who.signed_in_user.id,
            preset_id=canonical_id(preset_id),
            count=form_number(count) if count else None,
            priority=priority,
            **start_caps(who),
        )
    except NotFound:
        return not_found(request, who)
    except REFUSALS as exc:
        return show_refused(request, who, exc, "/presets")
    return show_started(request, who, started)
