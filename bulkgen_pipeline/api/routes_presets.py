"""Presets: the saved configurations runs are made from."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Body, Response

from .. import db
from ..runs import listing, presets
from ..runs.presets import create_preset
from .deps import ServicesDep, UserDep
from .errors import responses
from .models import PresetBody, PresetOut

router = APIRouter(tags=["presets"])

PRESET_BODY = Body(
    description="A preset: canonical `{name, category, config}` or the flattened seed form",
    examples=[
        {
            "name": "Professional Bags",
            "category": "bags",
            "config": {
                "type": "__RANDOM__",
                "material": "leather",
                "use_model": False,
                "background": "__RANDOM__",
                "color_palette": ["#FF0000", "#000000"],
                "generation_count": 5,
            },
        }
    ],
)


def preset_out(preset: db.PresetView) -> PresetOut:
    return PresetOut(
        preset_id=preset.id,
        name=preset.name,
        category=preset.category,
        config=preset.config,
        created_at=preset.created_at.isoformat(),
        updated_at=preset.updated_at.isoformat(),
    )


@router.post("/api/presets", status_code=201, response_model=PresetOut, responses=responses())
def create(user: UserDep, services: ServicesDep, body: PresetBody = PRESET_BODY) -> PresetOut:
    preset_id = create_preset(services.database, user.id, body.root)
    return preset_out(presets.get_preset(services.database, user.id, preset_id))


@router.get("/api/presets", response_model=list[PresetOut], responses=responses())
def list_all(user: UserDep, services: ServicesDep) -> list[PresetOut]:
    return [preset_out(p) for p in listing.user_presets(services.database, user.id)]


@router.get("/api/presets/{preset_id}", response_model=PresetOut, responses=responses(404))
def get(preset_id: uuid.UUID, user: UserDep, services: ServicesDep) -> PresetOut:
    return preset_out(presets.get_preset(services.database, user.id, str(preset_id)))


@router.put("/api/presets/{preset_id}", response_model=PresetOut, responses=responses(404))
def replace(
    preset_id: uuid.UUID, user: UserDep, services: ServicesDep, body: PresetBody = PRESET_BODY
) -> PresetOut:
    """Replace the whole preset (validated like a new one; its category cannot change).
    Runs already queued keep the preset as it was."""
    return preset_out(presets.replace_preset(services.database, user.id, str(preset_id), body.root))


@router.delete("/api/presets/{preset_id}", status_code=204, responses=responses(404))
def delete(preset_id: uuid.UUID, user: UserDep, services: ServicesDep) -> Response:
    presets.delete_preset(services.database, user.id, str(preset_id))
    return Response(status_code=204)
