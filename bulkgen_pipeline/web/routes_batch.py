"""Prompt batches: explicit prompts or variations, started from one form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.errors import FieldProblem, InvalidInput
from ..domain.sizes import ASPECT_RATIOS
from ..runs.models import model_catalogue
from ..runs.preflight import CannotExecute
from ..runs.queueing import NotFound, start_run
from ..runs.templates import save_template, start_template, templates_of
from .batch_form import BatchForm, batch_from_form, blank_batch_form, place_problems
from .pages import MerchantDep, Visitor, canonical_id, checked_form, not_found, redirect, render
from .starting import REFUSALS, refusal_message, show_refused, show_started, start_caps

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Visitor, form: BatchForm, status: int = 200) -> Response:
    return render(
        request,
        who,
        "batch.html",
        status_code=status,
        nav="batch",
        form=form,
        aspect_ratios=ASPECT_RATIOS,
        models=model_catalogue(),
        templates=templates_of(who.services.database, who.signed_in_user.id),
    )


@router.get("/batch")
def batch_page(request: Request, who: MerchantDep) -> Response:
    return _page(request, who, blank_batch_form())


@router.post("/batch")
async def start_batch(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    document, shown, used_rows = batch_from_form(form)
    try:
        started = start_run(
            who.services.database,
            user_id=who.signed_in_user.id,
            batch=document,
            **start_caps(who),
        )
    except REFUSALS as exc:
        problems = getattr(exc, "problems", None)
        if isinstance(exc, CannotExecute):  # the field to change is known: show it there
            problems = [FieldProblem(exc.field, exc.reason)]
        if problems is not None:
            place_problems(shown, problems, used_rows)
        else:
            shown.other_errors.append(refusal_message(exc))
        return _page(request, who, shown, status=422)
    return show_started(request, who, started, what="Batch")


@router.post("/templates")
async def save_as_template(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    document, shown, used_rows = batch_from_form(form)
    try:
        saved = save_template(who.services.database, who.signed_in_user.id, document)
    except InvalidInput as exc:
        place_problems(shown, exc.problems, used_rows)
        return _page(request, who, shown, status=422)
    who.session.set_flash("ok", f"Template “{saved.name}” saved: start it again from this page.")
    return redirect(request, who, "/batch")


@router.post("/templates/{template_id}/start")
async def start_saved(request: Request, who: MerchantDep, template_id: str) -> Response:
    await checked_form(request, who)
    try:
        started = start_template(
            who.services.database,
            who.signed_in_user.id,
            canonical_id(template_id),
            **start_caps(who),
        )
    except NotFound:
        return not_found(request, who)
    except REFUSALS as exc:
        return show_refused(request, who, exc, "/batch")
    return show_started(request, who, started, what="Batch")
