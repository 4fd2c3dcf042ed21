"""Campaigns in the console: a CSV of products (one row each) starts a run per row, reserved
together; each campaign's page follows its runs, cancels them all, retries the failed ones and
downloads every image, over the use cases the API calls."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from .. import db
from ..api.files import zip_download
from ..domain.campaigns import CampaignItem, items_from_csv, row_field
from ..domain.errors import InvalidInput
from ..runs import campaigns
from ..runs.queueing import NotFound
from .pages import MerchantDep, canonical_id, checked_form, redirect, render
from .starting import REFUSALS, refusal_message

router = APIRouter(include_in_schema=False)
PAGE = "/campaigns"
MAX_CSV_BYTES = 512 * 1024


@dataclass
class CampaignForm:
    name: str = ""
    errors: list[str] = field(default_factory=list)  # each names its row and column


def _page(request: Request, who: MerchantDep, form: CampaignForm, status: int = 200) -> Response:
    user = who.signed_in_user
    found = campaigns.campaigns_of(who.services.database, user.id, user.test_mode)
    return render(
        request, who, "campaigns.html", status_code=status, nav="campaigns", form=form,
        campaigns=found,
    )  # fmt: skip


@router.get(PAGE)
def campaigns_page(request: Request, who: MerchantDep) -> Response:
    return _page(request, who, CampaignForm())


class UnreadableFile(ValueError):
    """The upload is missing, too large, or not UTF-8 text."""


async def _csv_text(upload: object) -> str:
    """The uploaded file as text (UTF-8, a spreadsheet's byte-order mark allowed)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise UnreadableFile("choose a CSV file: one row per product")
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise UnreadableFile(f"the file is over {MAX_CSV_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("the file is not UTF-8 text (save it as CSV UTF-8)") from None


@router.post(PAGE)
async def create(request: Request, who: MerchantDep) -> Response:
    form = await checked_form(request, who)
    shown = CampaignForm(name=str(form.get("name") or ""))
    items: list[CampaignItem] = []
    try:
        items = items_from_csv(await _csv_text(form.get("csv")))
        started = campaigns.start_campaign(
            who.services.database,
            user_id=who.signed_in_user.id,
            name=shown.name,
            items=items,
            max_active_jobs=who.services.settings.max_active_jobs_per_user,
            test=who.signed_in_user.test_mode,
        )
    except (InvalidInput, campaigns.ItemsNotFound) as exc:  # each bad cell by row and column
        shown.errors.extend(f"{row_field(p.field, items)}: {p.message}" for p in exc.problems)
    except UnreadableFile as exc:
        shown.errors.append(str(exc))
    except REFUSALS as exc:  # credits, the cap, the daily limit: in the API's words
        shown.errors.append(refusal_message(exc))
    else:
        who.session.set_flash(
            "ok",
            f"Campaign started: {len(started.job_ids)} runs, "
            f"{started.estimated_credits} credits reserved.",
        )
        return redirect(request, who, f"{PAGE}/{started.campaign.id}")
    return _page(request, who, shown, status=422)


@router.get(PAGE + "/{campaign_id}")
def campaign_page(request: Request, who: MerchantDep, campaign_id: str) -> Response:
    try:
        found, jobs = campaigns.owned_campaign(
            who.services.database,
            who.signed_in_user.id,
            canonical_id(campaign_id),
            who.signed_in_user.test_mode,
        )
    except NotFound:
        return render(request, who, "not_found.html", status_code=404)
    return render(request, who, "campaign.html", nav="campaigns", campaign=found, jobs=jobs)


@router.post(PAGE + "/{campaign_id}/{action}")
async def act(request: Request, who: MerchantDep, campaign_id: str, action: str) -> Response:
    await checked_form(request, who)
    acts = {"cancel": campaigns.cancel_campaign, "retry-failed": campaigns.retry_campaign}
    back = f"{PAGE}/{campaign_id}"
    try:
        if action not in acts:
            raise NotFound(action)
        user = who.signed_in_user
        done = acts[action](
            who.services.database, user.id, canonical_id(campaign_id), user.test_mode
        )
    except NotFound:
        return render(request, who, "not_found.html", status_code=404)
    except (db.InsufficientCredits, db.NothingToRetry) as exc:
        who.session.set_flash("error", f"Nothing was retried: {exc}")
        return redirect(request, who, back)
    if action == "cancel":
        message = f"Cancelled {len(done.changed)} runs; {done.unchanged} had already ended."
    else:
        message = (
            f"Retrying {len(done.changed)} runs' missing images: {done.credits} credits reserved."
        )
    who.session.set_flash("ok", message)
    return redirect(request, who, back)


@router.get(PAGE + "/{campaign_id}/export")
def export(request: Request, who: MerchantDep, campaign_id: str) -> Response:
    user = who.signed_in_user
    try:
        return zip_download(
            lambda folder: campaigns.export_campaign(
                who.services.database,
                who.services.store,
                user.id,
                canonical_id(campaign_id),
                folder,
                user.test_mode,
            )
        )
    except NotFound:
        return render(request, who, "not_found.html", status_code=404)
