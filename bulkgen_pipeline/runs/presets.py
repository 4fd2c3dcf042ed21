"""A user's presets: create, read, replace, delete (soft: runs queued from one keep it)."""

from __future__ import annotations

from typing import Any

from .. import db
from ..domain.errors import FieldProblem, PresetValidationError
from ..domain.requests import preset_request
from ..domain.schema import CategorySchema
from .queueing import NotFound


def _owned(session: Any, user_id: str, preset_id: str) -> db.PresetView:
    preset = db.get_preset(session, preset_id)
    if preset is None or preset.user_id != user_id or preset.deleted_at is not None:
        raise NotFound(f"preset '{preset_id}' does not exist")
    return preset


def create_preset(
    database: db.Database, user_id: str, data: Any, schema: CategorySchema | None = None
) -> str:
    """Validate and store a preset; returns its id."""
    request = preset_request(data, schema=schema)
    preset = request.preset
    assert preset is not None
    with database.session() as session:
        if db.get_user(session, user_id) is None:
            raise NotFound(f"user '{user_id}' does not exist")
        return db.save_preset(
            session, user_id, preset.name, preset.category, preset.canonical()["config"]
        )


def get_preset(database: db.Database, user_id: str, preset_id: str) -> db.PresetView:
    with database.session(readonly=True) as session:
        return _owned(session, user_id, preset_id)


def replace_preset(
    database: db.Database,
    user_id: str,
    preset_id: str,
    data: Any,
    schema: CategorySchema | None = None,
) -> db.PresetView:
    """Validate `data` as a whole preset and store it in place of the old one. Its category
    stays: runs already made from it are filed under that category."""
    preset = preset_request(data, schema=schema).preset
    assert preset is not None
    with database.session() as session:
        stored = _owned(session, user_id, preset_id)
        if preset.category != stored.category:
            raise PresetValidationError(
                [
                    FieldProblem(
                        "category",
                        f"cannot change from '{stored.category}'; create a new preset instead",
                    )
                ]
            )
        return db.update_preset(
            session, preset_id, name=preset.name, config=preset.canonical()["config"]
        )


def delete_preset(database: db.Database, user_id: str, preset_id: str) -> None:
    with database.session() as session:
        _owned(session, user_id, preset_id)
        db.delete_preset(session, preset_id)
