"""Request and response bodies of the catalogue campaigns (POST/GET /api/campaigns …)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field, StrictInt

from ..domain.campaigns import MAX_CAMPAIGN_ITEMS
from ..domain.json_schemas import NAME
from ..domain.presets import MAX_GENERATIONS
from ..domain.priority import Priority
from .models import Strict


class CampaignItemIn(Strict):
    """One product: a preset of yours, started with its own count or `generation_count`."""

    preset_id: uuid.UUID
    generation_count: StrictInt | None = Field(
        None,
        json_schema_extra={"minimum": 1, "maximum": MAX_GENERATIONS},
        description=f"1-{MAX_GENERATIONS}; default: the preset's own",
    )


class CampaignIn(Strict):
    """One run per item, reserved together: all start, or none (every bad item is named
    `items.N.field`). The same preset may be given more than once (a run each)."""

    # The rule is the use case's (its message names `name`); the schema states it.
    name: str = Field(
        json_schema_extra={"pattern": NAME["pattern"]}, description=NAME["description"]
    )
    items: list[CampaignItemIn] = Field(min_length=1, max_length=MAX_CAMPAIGN_ITEMS)
    priority: Priority = Field(
        Priority.NORMAL, description="high: before your own queued normal runs (each of them)"
    )


class CampaignImagesOut(BaseModel):
    total: int
    completed: int
    failed: int


class CampaignCreditsOut(BaseModel):
    estimated: int = Field(description="reserved when the runs (and retry passes) were queued")
    charged: int = Field(description="charged for the images delivered")


class CampaignOut(BaseModel):
    campaign_id: str
    name: str
    created_at: str
    run_count: int
    runs_by_status: dict[str, int] = Field(description="how many runs are in each status")
    images: CampaignImagesOut
    credits: CampaignCreditsOut


class CampaignRunOut(BaseModel):
    job_id: str
    preset_id: str | None
    name: str
    status: str
    total_images: int
    completed_images: int
    failed_images: int
    status_url: str


class CampaignDetailOut(CampaignOut):
    runs: list[CampaignRunOut] = Field(description="each run, in the order of the items")


class CampaignStartedOut(BaseModel):
    campaign_id: str
    name: str
    job_ids: list[str] = Field(description="one run per item, in their order")
    estimated_credits: int = Field(description="reserved for all its runs together")
    status_url: str


class CampaignListOut(BaseModel):
    campaigns: list[CampaignOut]


class CampaignActionOut(BaseModel):
    campaign_id: str
    changed: dict[str, str] = Field(description="each run acted on, with its new status")
    unchanged: int = Field(description="runs left as they were (ended, or nothing missing)")
    credits_reserved: int = Field(0, description="retry-failed: reserved for the new passes")
