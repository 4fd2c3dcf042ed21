"""What a run's pictures were found to be: near-duplicate pairs and colour adherence."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..runs.image_checks import run_findings
from .deps import ServicesDep, UserDep, same_mode_run
from .errors import responses

router = APIRouter(tags=["bulk runs"], dependencies=[Depends(same_mode_run)])


class NearDuplicateOut(BaseModel):
    first: int = Field(description="generation_index of one image")
    second: int = Field(description="generation_index of the image it looks like")
    distance: int = Field(description="perceptual-hash bits that differ (0: the same picture)")


class LooksOut(BaseModel):
    looked_at: bool = Field(description="false until the run's images are made")
    near_duplicate_bits: int | None = Field(
        None, description="the run's threshold: hashes within this many bits look alike"
    )
    near_duplicates: list[NearDuplicateOut] = Field(default_factory=list)
    colour_adherence: dict[str, Any] | None = Field(
        None, description="measured, adherent, share, median_delta_e (CIEDE2000)"
    )
    images: dict[str, Any] = Field(
        default_factory=dict,
        description="by generation_index: perceptual_hash, and colour {requested, nearest, "
        "delta_e, share, adherent} when the generation asked for one",
    )


@router.get(
    "/api/bulk-generation/jobs/{job_id}/looks",
    response_model=LooksOut,
    responses=responses(404),
    summary="What the run's pictures were found to be: near-duplicates, colour adherence",
)
def looks(job_id: uuid.UUID, user: UserDep, services: ServicesDep) -> dict[str, Any]:
    return run_findings(
        services.database, services.store, user.id, str(job_id), test=user.test_mode
    )
