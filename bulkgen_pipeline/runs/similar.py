"""Similar images: a new run whose generations keep one finished image's attributes except
those named in `vary` (drawn again, unique as usual), with new seeds; reserved like any start.
"""

from __future__ import annotations

from .. import db
from ..domain.kinds import PRESET
from ..domain.priority import Priority
from ..domain.requests import request_from_snapshot
from ..domain.schema import load_category_schema
from ..domain.similar import similar_preset
from ..storage.base import ObjectStore
from .control import JobConflict, owned_job
from .errors import NotFound
from .queueing import Started, start_run
from .resolved_prompts import resolved_generations


def start_similar(
    database: db.Database,
    store: ObjectStore,
    *,
    user_id: str,
    run_id: str,
    generation_index: int,
    count: int,
    vary: list[str] | None = None,
    priority: Priority = Priority.NORMAL,
    max_active_jobs: int | None = None,
    allow_private_webhooks: bool | None = None,
    test: bool = False,
) -> Started:
    """Start `count` images like generation `generation_index` of the merchant's run `run_id`.
    NotFound for another merchant's run or a generation it does not have; JobConflict for a
    prompt batch's run (its prompts are the merchant's own: start the batch again)."""
    with database.session(readonly=True) as session:
        job = owned_job(session, user_id, run_id)
    if job.kind != PRESET or job.preset_id is None:
        raise JobConflict("similar images come from a preset's run; a batch's prompts are your own")
    spec = resolved_generations(store, job).get(generation_index)
    if spec is None:
        raise NotFound(f"run '{run_id}' has no image {generation_index}")
    queued = request_from_snapshot(job.preset_snapshot).preset
    assert queued is not None
    document = similar_preset(
        queued.canonical(),
        spec.config,
        vary=list(vary or []),
        count=count,
        schema=load_category_schema(),
    )
    return start_run(
        database,
        user_id=user_id,
        preset_id=job.preset_id,
        derived=document,
        priority=priority,
        max_active_jobs=max_active_jobs,
        allow_private_webhooks=allow_private_webhooks,
        test=test,
    )
