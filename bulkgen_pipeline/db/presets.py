"""Presets: a user's saved configuration (the canonical preset JSON, README "Presets")."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import UnknownPreset, UnknownUser
from bulkgen_pipeline.db.models import Preset, User, utcnow


@dataclass(frozen=True)
class PresetView:
    id: str
    user_id: str
    name: str
    category: str
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def preset_id(self) -> str:
        return self.id


def _view(preset: Preset) -> PresetView:
    return PresetView(
        id=preset.id,
        user_id=preset.user_id,
        name=preset.name,
        category=preset.category,
        config=copy.deepcopy(preset.config),
        created_at=preset.created_at,
        updated_at=preset.updated_at,
        deleted_at=preset.deleted_at,
    )


def save_preset(
    session: Session, user_id: str, name: str, category: str, config: dict[str, Any]
) -> str:
    """Store a new preset for `user_id`; returns the preset id."""
    if session.get(User, user_id) is None:
        raise UnknownUser(user_id)
    if not isinstance(config, dict):
        raise TypeError("config must be a dict")
    preset = Preset(
        id=str(uuid.uuid4()),
        user_id=user_id,
        name=name,
        category=category,
        config=copy.deepcopy(config),
    )
    session.add(preset)
    session.flush()
    return preset.id


def get_preset(session: Session, preset_id: str) -> PresetView | None:
    preset = session.execute(
        select(Preset).where(Preset.id == preset_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return None if preset is None else _view(preset)


def get_presets(session: Session, preset_ids: list[str]) -> dict[str, PresetView]:
    """The presets among these ids that exist (deleted ones too), in one query."""
    if not preset_ids:
        return {}
    rows = session.scalars(select(Preset).where(Preset.id.in_(set(preset_ids))))
    return {row.id: _view(row) for row in rows}


def list_presets(session: Session, user_id: str) -> list[PresetView]:
    """The user's presets, oldest first; deleted ones are left out."""
    rows = session.scalars(
        select(Preset)
        .where(Preset.user_id == user_id, Preset.deleted_at.is_(None))
        .order_by(Preset.created_at, Preset.id)
    )
    return [_view(p) for p in rows]


def delete_preset(session: Session, preset_id: str) -> None:
    """Soft delete: jobs queued from it keep their snapshot and their reference."""
    preset = session.get(Preset, preset_id)
    if preset is None:
        raise UnknownPreset(preset_id)
    preset.deleted_at = preset.deleted_at or utcnow()
    session.flush()


def update_preset(
    session: Session,
    preset_id: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
) -> PresetView:
    """Change a preset's name and/or config. Jobs already queued keep their snapshot."""
    preset = session.get(Preset, preset_id)
    if preset is None:
        raise UnknownPreset(preset_id)
    if name is not None:
        preset.name = name
    if config is not None:
        if not isinstance(config, dict):
            raise TypeError("config must be a dict")
        preset.config = copy.deepcopy(config)
    preset.updated_at = utcnow()
    session.flush()
    return _view(preset)
