"""The console's bulk actions: tag or delete the runs ticked on the runs page, download the
images ticked on a run page as one ZIP."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..api.files import zip_download
from ..domain.errors import InvalidInput
from ..runs.exports import EXPORT_FILENAME, Chosen, export_images
from ..runs.queueing import NotFound
from ..runs.tags import delete_runs, run_tags, set_tags
from .pages import MerchantDep, canonical_id, check_same_mode, checked_form, not_found, redirect

router = APIRouter(include_in_schema=False)


@router.post("/runs/tag")
async def tag_runs(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    run_ids = [canonical_id(str(r)) for r in form.getlist("run_ids")]
    check_same_mode(who, run_ids)
    added = [t.strip() for t in str(form.get("tags") or "").split(",") if t.strip()]
    if not run_ids or not added:
        who.session.set_flash("error", "Tick some runs and type a tag first.")
        return redirect(request, who, "/runs")
    existing = run_tags(who.services.database, run_ids)
    try:
        for run_id in run_ids:
            set_tags(
                who.services.database,
                who.signed_in_user.id,
                run_id,
                [*existing.get(run_id, []), *added],
            )
    except NotFound:
        return not_found(request, who)
    except InvalidInput as exc:
        who.session.set_flash("error", "Not tagged: " + "; ".join(map(str, exc.problems)))
        return redirect(request, who, "/runs")
    who.session.set_flash("ok", f"Tagged {len(run_ids)} run(s): {', '.join(added)}.")
    return redirect(request, who, "/runs")


@router.post("/runs/delete")
async def delete_ticked(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    run_ids = [canonical_id(str(r)) for r in form.getlist("run_ids")]
    check_same_mode(who, run_ids)
    try:
        outcomes = delete_runs(
            who.services.database, who.services.store, who.signed_in_user.id, run_ids
        )
    except InvalidInput as exc:
        who.session.set_flash("error", "; ".join(map(str, exc.problems)))
        return redirect(request, who, "/runs")
    deleted = sum(o.outcome == "deleted" for o in outcomes)
    kept = [o for o in outcomes if o.outcome != "deleted"]
    text = f"Deleted the files of {deleted} run(s)."
    if kept:
        text += f" {len(kept)} not deleted: " + "; ".join(o.detail or o.outcome for o in kept)
    who.session.set_flash("ok" if not kept else "error", text)
    return redirect(request, who, "/runs")


@router.post("/exports")
async def download_ticked(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    chosen = []
    for value in form.getlist("image"):
        run_id, _, index = str(value).rpartition(":")
        if not index.isdigit():
            return not_found(request, who)
        chosen.append(Chosen(canonical_id(run_id), int(index)))
    check_same_mode(who, [c.run_id for c in chosen])
    back = str(form.get("back") or "/runs")
    if not chosen:
        who.session.set_flash("error", "Tick some images first.")
        return redirect(request, who, back if back.startswith("/runs/") else "/runs")
    user_id = who.signed_in_user.id
    try:
        return zip_download(
            lambda folder: export_images(
                who.services.database, who.services.store, user_id, chosen, folder
            ),
            EXPORT_FILENAME,
        )
    except NotFound:
        return not_found(request, who)
