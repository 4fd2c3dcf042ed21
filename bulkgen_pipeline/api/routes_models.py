"""The image models on offer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..runs.models import model_catalogue
from .deps import UserDep
from .errors import responses

router = APIRouter(tags=["models"])


@router.get(
    "/api/models",
    responses=responses(),
    summary="The image models you can choose (config.model, shared_settings.model)",
)
def models(_user: UserDep) -> dict[str, Any]:
    """Each model's id, provider, sizes (exact side range and aspect ratios), largest size,
    whether it takes a negative prompt, its steps and guidance ranges, and credits per image.
    A preset or batch without a model lets bulkgen choose one for the size, as by default."""
    return {"models": model_catalogue()}
