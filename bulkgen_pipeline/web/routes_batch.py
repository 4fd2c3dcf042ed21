"""Prompt batches: explicit prompts or variations, started from one form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..domain.errors import FieldProblem
from ..domain.presets import ASPECT_RATIOS
from ..runs.models import model_catalogue
from ..runs.preflight import CannotExecute
from ..runs.queueing import start_run
from .batch_form import BatchForm, batch_from_form, blank_batch_form, place_problems
from .pages import MerchantDep, Visitor, checked_form, redirect, render
from .starting import REFUSALS, refusal_message

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
    )


@router.get("/batch")
def batch_page(request: Request, who: MerchantDep) -> Response:
    return _page(request, who, blank_batch_form())


@router.post("/batch")
async def start_batch(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    document, shown, used_rows = batch_from_form(form)
    settings = who.services.settings
    try:
        started = start_run(
            who.services.database,
            user_id=who.signed_in_user.id,
            batch=document,
            max_active_jobs=settings.max_active_jobs_per_user,
            allow_private_webhooks=settings.webhook_allow_private,
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
    who.session.set_flash(
        "ok", f"Batch started: {started.estimated_credits} credits reserved.", started.job_id
    )
    return redirect(request, who, f"/runs/{started.job_id}")
