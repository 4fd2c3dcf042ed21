"""Catalogue campaigns: one run per product started together, followed, cancelled, retried and
exported as one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import FileResponse

from .. import db
from ..domain.campaigns import CampaignItem
from ..runs import campaigns
from .deps import ServicesDep, UserDep
from .errors import responses
from .files import zip_download
from .models_campaigns import (
    CampaignActionOut,
    CampaignCreditsOut,
    CampaignDetailOut,
    CampaignImagesOut,
    CampaignIn,
    CampaignListOut,
    CampaignOut,
    CampaignRunOut,
    CampaignStartedOut,
)
from .routes_runs import status_url

router = APIRouter(tags=["campaigns"])
CAMPAIGNS = "/api/campaigns"
CAMPAIGN = CAMPAIGNS + "/{campaign_id}"


def _fields(found: campaigns.CampaignView) -> dict[str, object]:
    progress = found.progress
    return {
        "campaign_id": found.id,
        "name": found.name,
        "created_at": found.created_at.isoformat(),
        "run_count": progress.runs,
        "runs_by_status": progress.runs_by_status,
        "images": CampaignImagesOut(
            total=progress.images_total,
            completed=progress.images_completed,
            failed=progress.images_failed,
        ),
        "credits": CampaignCreditsOut(
            estimated=progress.credits_estimated, charged=progress.credits_charged
        ),
    }


def _run_out(job: db.JobView) -> CampaignRunOut:
    return CampaignRunOut(
        job_id=job.run_id,
        preset_id=job.preset_id,
        name=job.display_name,
        status=job.status,
        total_images=job.total_images,
        completed_images=job.completed_images,
        failed_images=job.failed_images,
        status_url=status_url(job.run_id),
    )


def _action_out(done: campaigns.CampaignAction) -> CampaignActionOut:
    return CampaignActionOut(
        campaign_id=done.campaign_id,
        changed=done.changed,
        unchanged=done.unchanged,
        credits_reserved=done.credits,
    )


@router.post(
    CAMPAIGNS,
    status_code=202,
    response_model=CampaignStartedOut,
    responses=responses(402, 404, 429),
    summary="Start one run per product, reserved together (all or nothing)",
)
def create(body: CampaignIn, user: UserDep, services: ServicesDep) -> CampaignStartedOut:
    items = [CampaignItem(str(i.preset_id), i.generation_count) for i in body.items]
    started = campaigns.start_campaign(
        services.database,
        user_id=user.id,
        name=body.name,
        items=items,
        max_active_jobs=services.settings.max_active_jobs_per_user,
        priority=body.priority,
        test=user.test_mode,
    )
    return CampaignStartedOut(
        campaign_id=started.campaign.id,
        name=started.campaign.name,
        job_ids=started.job_ids,
        estimated_credits=started.estimated_credits,
        status_url=CAMPAIGN.format(campaign_id=started.campaign.id),
    )


@router.get(CAMPAIGNS, response_model=CampaignListOut, responses=responses())
def list_all(user: UserDep, services: ServicesDep) -> CampaignListOut:
    """Your campaigns, newest first, each with its progress."""
    found = campaigns.campaigns_of(services.database, user.id, user.test_mode)
    return CampaignListOut(campaigns=[CampaignOut.model_validate(_fields(c)) for c in found])


@router.get(CAMPAIGN, response_model=CampaignDetailOut, responses=responses(404))
def show(campaign_id: uuid.UUID, user: UserDep, services: ServicesDep) -> CampaignDetailOut:
    """The campaign's progress summed over its runs, and each run."""
    found, jobs = campaigns.owned_campaign(
        services.database, user.id, str(campaign_id), user.test_mode
    )
    return CampaignDetailOut.model_validate(
        {**_fields(found), "runs": [_run_out(job) for job in jobs]}
    )


@router.post(
    CAMPAIGN + "/cancel",
    response_model=CampaignActionOut,
    responses=responses(404),
    summary="Cancel every run of the campaign that has not ended, as the single cancel does",
)
def cancel(campaign_id: uuid.UUID, user: UserDep, services: ServicesDep) -> CampaignActionOut:
    done = campaigns.cancel_campaign(services.database, user.id, str(campaign_id), user.test_mode)
    return _action_out(done)


@router.post(
    CAMPAIGN + "/retry-failed",
    status_code=202,
    response_model=CampaignActionOut,
    responses=responses(402, 404, 409),
    summary="Retry the missing images of every partial or failed run (all or nothing)",
)
def retry_failed(campaign_id: uuid.UUID, user: UserDep, services: ServicesDep) -> CampaignActionOut:
    done = campaigns.retry_campaign(services.database, user.id, str(campaign_id), user.test_mode)
    return _action_out(done)


@router.get(
    CAMPAIGN + "/export",
    response_class=FileResponse,
    responses={**responses(404), 200: {"content": {"application/zip": {}}}},
    summary="One ZIP of every image of the campaign, a folder per run, with their metadata",
)
def export(campaign_id: uuid.UUID, user: UserDep, services: ServicesDep) -> FileResponse:
    return zip_download(
        lambda folder: campaigns.export_campaign(
            services.database, services.store, user.id, str(campaign_id), folder, user.test_mode
        )
    )
