"""Runs: the merchant's list (newest first, a page at a time), the run page with live tiles,
its thumbnails (the owner's only), and cancel / retry-failed from the page."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from PIL import Image

from .. import db
from ..api.routes_runs import events_url, status_url
from ..domain.layout import RunLayout
from ..domain.statuses import IllegalTransition
from ..runs import control, listing
from ..runs.image_checks import read_findings
from ..runs.queueing import NotFound
from ..runs.resolved_prompts import resolved_generations
from ..runs.tags import run_tags
from ..storage.base import ObjectNotFound
from .pages import (
    MerchantDep,
    Visitor,
    canonical_id,
    checked_form,
    not_found,
    redirect,
    render,
    same_mode_page,
    security_headers,
)
from .run_view import can_cancel, can_retry, eta_text, tiles
from .starting import REFUSALS, refusal_message

# A test-mode sign-in shows its test runs only, a live one its live runs.
router = APIRouter(include_in_schema=False, dependencies=[Depends(same_mode_page)])
RUNS_PER_PAGE = 20
THUMBNAIL_PX = 320


@router.get("/runs")
def list_page(
    request: Request,
    who: MerchantDep,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> Response:
    page = listing.user_runs(
        who.services.database,
        who.signed_in_user.id,
        cursor=cursor,
        limit=RUNS_PER_PAGE,
        tag=tag,
        test=who.signed_in_user.test_mode,
    )
    tags = run_tags(who.services.database, [job.run_id for job in page.jobs])
    runs = [
        {
            "id": job.run_id,
            "name": job.display_name,
            "category": job.category,
            "status": job.status,
            "total": job.total_images,
            "completed": job.completed_images,
            "failed": job.failed_images,
            "created_at": job.created_at,
            "tags": tags.get(job.run_id, []),
            "test": job.is_test,
        }
        for job in page.jobs
    ]
    return render(
        request,
        who,
        "runs.html",
        nav="runs",
        runs=runs,
        next_cursor=page.next_cursor,
        first_page=cursor is None,
        tag=tag,
    )


def _owned_status(who: Visitor, run_id: str) -> tuple[db.JobView, dict[str, Any]]:
    """The caller's job and its status view (NotFound for anyone else's)."""
    user = who.signed_in_user
    return control.owned_job_status(
        who.services.database, user.id, canonical_id(run_id), test=user.test_mode
    )


@router.get("/runs/{run_id}")
def run_page(request: Request, who: MerchantDep, run_id: str) -> Response:
    try:
        job, status = _owned_status(who, run_id)
    except NotFound:
        return not_found(request, who)
    generations = resolved_generations(who.services.store, job)
    findings = read_findings(who.services.store, RunLayout.of(job))
    return render(
        request,
        who,
        "run.html",
        nav="runs",
        run=status,
        name=job.display_name,
        kind=job.kind,
        tiles=tiles(status, generations, findings),
        findings=findings,
        eta=eta_text(status["eta_seconds"]),
        can_cancel=can_cancel(status["status"]),
        can_retry=can_retry(status),
        status_url=status_url(job.run_id),
        events_url=events_url(job.run_id),
    )


@router.get("/runs/{run_id}/details")
def run_details(request: Request, who: MerchantDep, run_id: str) -> Response:
    """Each generation's prompt and attributes, for a run page opened before they existed."""
    try:
        job, status = _owned_status(who, run_id)
    except NotFound:
        return not_found(request, who)
    generations = resolved_generations(who.services.store, job)
    # flash=None: a fragment must not use up the message the page is showing.
    return render(request, who, "run_details.html", tiles=tiles(status, generations), flash=None)


@router.get("/runs/{run_id}/images/{generation}.png")
def image(
    request: Request,
    who: MerchantDep,
    run_id: str,
    generation: int,
    size: Annotated[str, Query(pattern="^(thumb|full)$")] = "thumb",
) -> Response:
    """One image of one of the caller's runs; anyone else's is not found."""
    try:
        wanted = canonical_id(run_id)
        user = who.signed_in_user
        job = control.find_owned_job(who.services.database, user.id, wanted, test=user.test_mode)
        data = who.services.store.get_bytes(RunLayout.of(job).image_key(generation))
    except (NotFound, ObjectNotFound):
        return not_found(request, who)
    if size == "thumb":
        picture = Image.open(io.BytesIO(data))
        picture.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
        out = io.BytesIO()
        picture.save(out, format="PNG", optimize=False)
        data = out.getvalue()
    response = Response(data, media_type="image/png")
    security_headers(response)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@router.post("/runs/{run_id}/cancel")
async def cancel(request: Request, who: MerchantDep, run_id: str) -> Response:
    await checked_form(request, who)
    try:
        wanted = canonical_id(run_id)
        new_status = control.cancel_job(
            who.services.database, user_id=who.signed_in_user.id, run_id=wanted
        )
    except NotFound:
        return not_found(request, who)
    except (control.JobConflict, IllegalTransition) as exc:
        who.session.set_flash("error", f"Nothing to cancel: {exc}")
    else:
        who.session.set_flash("ok", f"Cancel requested: the run is {new_status}.")
    return redirect(request, who, f"/runs/{wanted}")


@router.post("/runs/{run_id}/retry-failed")
async def retry_failed(request: Request, who: MerchantDep, run_id: str) -> Response:
    await checked_form(request, who)
    try:
        wanted = canonical_id(run_id)
        retried = control.retry_failed(
            who.services.database, user_id=who.signed_in_user.id, run_id=wanted
        )
    except NotFound:
        return not_found(request, who)
    except (db.NothingToRetry, control.JobConflict, *REFUSALS) as exc:
        who.session.set_flash("error", f"Nothing retried: {refusal_message(exc)}")
    else:
        who.session.set_flash(
            "ok", f"Retrying {retried.images_to_retry} failed image(s); credits reserved."
        )
    return redirect(request, who, f"/runs/{wanted}")
