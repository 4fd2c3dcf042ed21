"""`bulkgen users …` and `bulkgen presets …`."""

from __future__ import annotations

import click

from .. import db
from ..config import Settings
from ..domain.errors import PresetValidationError
from ..runs.queueing import NotFound, create_preset
from . import main
from .common import database, emit, fail, read_json


@main.group()
def users() -> None:
    """Manage users and their credits."""


@users.command("create")
@click.option("--name", required=True)
@click.option("--credits", "credits_", type=click.IntRange(min=0), required=True)
def users_create(name: str, credits_: int) -> None:
    """Create a user; prints its id and its API key (shown only this once)."""
    with database(Settings.from_env()).session() as session:
        created = db.create_user(session, name, credits_)
    emit({"user_id": created.user_id, "api_key": created.api_key, "credits": credits_})


@main.group()
def presets() -> None:
    """Manage presets."""


@presets.command("create")
@click.option("--user", "user_id", required=True)
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), required=True)
def presets_create(user_id: str, path: str) -> None:
    """Validate a preset JSON file (canonical or flattened) and store it."""
    try:
        preset_id = create_preset(database(Settings.from_env()), user_id, read_json(path))
    except PresetValidationError as exc:
        fail("invalid preset", problems=[p.to_dict() for p in exc.problems])
    except NotFound as exc:
        fail(str(exc))
    emit({"preset_id": preset_id})
