"""Catalogue campaigns, each its merchant's, and the progress of their runs summed in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.engine import query_of
from bulkgen_pipeline.db.models import BackendJob, BulkGenerationHeader, Campaign, utcnow
from bulkgen_pipeline.readmodel import JobView
from bulkgen_pipeline.readmodel.queries import read_jobs


@dataclass(frozen=True)
class CampaignProgress:
    """A campaign's runs summed: how many in each status, their images and credits."""

    runs: int = 0
    runs_by_status: dict[str, int] = field(default_factory=dict)
    images_total: int = 0
    images_completed: int = 0
    images_failed: int = 0
    credits_estimated: int = 0
    credits_charged: int = 0
    test: bool = False  # started with a test-mode key (all its runs are, or none)


@dataclass(frozen=True)
class CampaignView:
    id: str
    user_id: str
    name: str
    created_at: datetime
    progress: CampaignProgress = CampaignProgress()


def add_campaign(session: Session, *, campaign_id: str, user_id: str, name: str) -> CampaignView:
    row = Campaign(id=campaign_id, user_id=user_id, name=name, created_at=utcnow())
    session.add(row)
    session.flush()
    return CampaignView(row.id, row.user_id, row.name, row.created_at)


def join_campaign(session: Session, campaign_id: str, run_ids: Sequence[str]) -> None:
    """Note on these jobs (queued in the caller's transaction) the campaign they belong to."""
    session.execute(
        update(BackendJob)
        .where(BackendJob.uuid.in_(run_ids))
        .values(campaign_id=campaign_id)
        .execution_options(synchronize_session=False)
    )


def get_campaign(session: Session, campaign_id: str) -> CampaignView | None:
    row = session.get(Campaign, campaign_id)
    if row is None:
        return None
    progress = _progress(session, [row.id]).get(row.id, CampaignProgress())
    return CampaignView(row.id, row.user_id, row.name, row.created_at, progress)


def list_campaigns(session: Session, user_id: str) -> list[CampaignView]:
    """The merchant's campaigns, newest first, each with its progress (one query for all)."""
    rows = list(
        session.scalars(
            select(Campaign)
            .where(Campaign.user_id == user_id)
            .order_by(Campaign.created_at.desc(), Campaign.id)
        )
    )
    progress = _progress(session, [row.id for row in rows])
    return [
        CampaignView(
            row.id, row.user_id, row.name, row.created_at, progress.get(row.id, CampaignProgress())
        )
        for row in rows
    ]


def _progress(session: Session, campaign_ids: Sequence[str]) -> dict[str, CampaignProgress]:
    if not campaign_ids:
        return {}
    header = BulkGenerationHeader
    rows = session.execute(
        select(
            BackendJob.campaign_id,
            BackendJob.is_test,
            BackendJob.status,
            func.count(),
            func.sum(header.total_images),
            func.sum(header.completed_images),
            func.sum(header.failed_images),
            func.sum(header.estimated_credits),
            func.sum(header.credits_consumed),
        )
        .join(header, header.id == BackendJob.uuid)
        .where(BackendJob.campaign_id.in_(campaign_ids))
        .group_by(BackendJob.campaign_id, BackendJob.is_test, BackendJob.status)
    )
    found: dict[str, CampaignProgress] = {}
    for campaign_id, test, status, runs, total, completed, failed, estimated, charged in rows:
        was = found.get(str(campaign_id), CampaignProgress())
        found[str(campaign_id)] = CampaignProgress(
            runs=was.runs + int(runs),
            runs_by_status={**was.runs_by_status, status: int(runs)},
            images_total=was.images_total + int(total or 0),
            images_completed=was.images_completed + int(completed or 0),
            images_failed=was.images_failed + int(failed or 0),
            credits_estimated=was.credits_estimated + int(estimated or 0),
            credits_charged=was.credits_charged + int(charged or 0),
            test=bool(test),
        )
    return found


def campaign_jobs(session: Session, campaign_id: str, limit: int) -> list[JobView]:
    """The campaign's runs (those whose files were deleted too), in the order they were queued."""
    jobs = read_jobs(query_of(session), campaign_id=campaign_id, limit=limit, include_deleted=True)
    return jobs[::-1]
