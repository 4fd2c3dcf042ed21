"""Queueing a bulk run: one validation path for the CLI, the Dagster launchpad and the API."""

from __future__ import annotations

from typing import Any

from .. import db
from ..domain.requests import BulkRequest, batch_request, preset_request
from ..domain.schema import CategorySchema


class NotFound(LookupError):
    """A user or preset that does not exist, or is not the caller's."""


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


def queue_preset_run(
    database: db.Database,
    *,
    user_id: str,
    preset_id: str,
    count: int | None = None,
    claim: bool = False,
    schema: CategorySchema | None = None,
) -> str:
    """Validate the preset as it is now, freeze it on the job, reserve credits; returns the run id.

    `claim` marks the job processing in the same transaction, for callers that execute the run
    themselves (the CLI), so the queue sensor never launches it a second time.
    """
    with database.session() as session:
        stored = db.get_preset(session, preset_id)
        if stored is None or stored.user_id != user_id:
            raise NotFound(f"preset '{preset_id}' does not exist for user '{user_id}'")
        data = {"name": stored.name, "category": stored.category, "config": stored.config}
        request = preset_request(data, generation_count=count, schema=schema)
        return _queue(session, user_id, preset_id, request, claim)


def queue_prompt_batch(
    database: db.Database, *, user_id: str, batch: Any, claim: bool = False
) -> str:
    request = batch_request(batch)
    with database.session() as session:
        return _queue(session, user_id, None, request, claim)


def _queue(
    session: Any, user_id: str, preset_id: str | None, request: BulkRequest, claim: bool
) -> str:
    if db.get_user(session, user_id) is None:
        raise NotFound(f"user '{user_id}' does not exist")
    run_id = db.queue_bulk_job(  # raises db.InsufficientCredits(needed, available)
        session,
        user_id=user_id,
        preset_id=preset_id,
        category=request.category,
        preset_snapshot=request.snapshot(),
        generation_count=request.generation_count,
    )
    if claim:
        db.mark_job_processing(session, run_id, None)
    return run_id
