"""Organizing runs: tags, deleting many at once, and exporting chosen images."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from ..runs.exports import EXPORT_FILENAME, Chosen, export_images
from ..runs.tags import delete_runs, set_tags
from ..runs.test_mode import require_same_mode
from .deps import ServicesDep, UserDep, same_mode_run
from .errors import responses
from .files import zip_download
from .models_organize import (
    BulkDeleteIn,
    BulkDeleteOut,
    BulkOutcomeOut,
    ExportIn,
    TagsIn,
    TagsOut,
)

# A test-mode key acts on its test runs only, a live key on its live runs (runs/test_mode.py).
router = APIRouter(tags=["runs"], dependencies=[Depends(same_mode_run)])


@router.put(
    "/api/bulk-generation/runs/{run_id}/tags",
    response_model=TagsOut,
    responses=responses(404),
    summary="Replace a run's tags (list your runs by one with ?tag=)",
)
def put_tags(run_id: uuid.UUID, body: TagsIn, user: UserDep, services: ServicesDep) -> TagsOut:
    tags = set_tags(services.database, user.id, str(run_id), body.tags)
    return TagsOut(job_id=str(run_id), tags=tags)


@router.post(
    "/api/bulk-generation/runs/delete",
    response_model=BulkDeleteOut,
    responses=responses(),
    summary="Delete the files of up to 100 finished runs, each as the single delete does",
)
def delete_many(body: BulkDeleteIn, user: UserDep, services: ServicesDep) -> BulkDeleteOut:
    run_ids = [str(run_id) for run_id in body.run_ids]
    require_same_mode(services.database, user.id, run_ids, test=user.test_mode)
    outcomes = delete_runs(
        services.database, services.store, user.id, [str(run_id) for run_id in body.run_ids]
    )
    return BulkDeleteOut(
        results=[
            BulkOutcomeOut(
                job_id=o.run_id,
                outcome=o.outcome,  # type: ignore[arg-type]
                objects_deleted=o.objects_deleted,
                detail=o.detail,
            )
            for o in outcomes
        ]
    )


@router.post(
    "/api/exports",
    response_class=FileResponse,
    responses={**responses(404), 200: {"content": {"application/zip": {}}}},
    summary="One ZIP of chosen images from any of your runs, with their metadata",
)
def export(body: ExportIn, user: UserDep, services: ServicesDep) -> FileResponse:
    chosen = list(dict.fromkeys(Chosen(str(i.run_id), i.generation_index) for i in body.images))
    require_same_mode(services.database, user.id, [c.run_id for c in chosen], test=user.test_mode)
    return zip_download(
        lambda folder: export_images(services.database, services.store, user.id, chosen, folder),
        EXPORT_FILENAME,
    )
