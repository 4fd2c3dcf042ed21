"""Bulk runs: start, batches, status, events, download, cancel, retry-failed, list, delete."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from .. import db
from ..domain.errors import FieldProblem, InvalidInput
from ..domain.statuses import JobStatus
from ..runs import control, listing
from ..runs.downloads import DOWNLOAD_ROUTE, zip_download
from ..runs.events import event_feed
from ..runs.previews import preview_run
from ..runs.queueing import Idempotency, NotFound, Started, Webhook, start_run
from ..runs.similar import start_similar
from ..runs.tags import run_tags
from .deps import ServicesDep, UserDep, same_mode_run
from .errors import responses
from .models import (
    DECIMAL_DIGITS,
    ActionOut,
    BatchRequest,
    DeletedOut,
    JobStatusOut,
    PreviewOut,
    PreviewRequest,
    RetryOut,
    RunPageOut,
    RunSummaryOut,
    SimilarRequest,
    StartFields,
    StartRequest,
    StartResponse,
    WebhookFields,
)

# A test-mode key acts on its test runs only, a live key on its live runs (runs/test_mode.py).
router = APIRouter(tags=["bulk runs"], dependencies=[Depends(same_mode_run)])
JOBS = "/api/bulk-generation/jobs/{job_id}"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retry safely: the same key within 24 h returns the first job",
    ),
]


def status_url(job_id: str) -> str:
    return JOBS.format(job_id=job_id) + "/status"


def events_url(job_id: str) -> str:
    return JOBS.format(job_id=job_id) + "/events"


def started_response(started: Started, *, test: bool = False) -> StartResponse:
    return StartResponse(
        job_id=started.job_id,
        status=JobStatus(started.status),
        estimated_credits=started.estimated_credits,
        status_url=status_url(started.job_id),
        events_url=events_url(started.job_id),
        test=test,
    )


def webhook_of(body: WebhookFields) -> Webhook | None:
    if body.webhook_url is None:
        return None
    return Webhook(body.webhook_url, list(body.webhook_events) if body.webhook_events else None)


def _idempotency(key: str | None, path: str, body: Any) -> Idempotency | None:
    return None if key is None else Idempotency.of(key, path, body)


@router.post(
    "/api/bulk-generation/start",
    status_code=202,
    response_model=StartResponse,
    responses=responses(402, 404, 409, 429),
    summary="Queue a bulk run of one of your presets",
)
def start(
    body: StartRequest, user: UserDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> StartResponse:
    """Checks, in order: the preset is yours (404); a generator exists for its category;
    `generation_count` is 1-50 (422); you have fewer active jobs than allowed (429); enough
    credits (402). Then the credits are reserved and the job is queued. With `preview_id`
    instead of `preset_id`: exactly the previewed prompts, with `edits` applied, charged only
    for the generations kept (409 once the preview expired or was started)."""
    problem = _start_problem(body)
    if problem is not None:
        raise InvalidInput([problem])
    started = start_run(
        services.database,
        user_id=user.id,
        preset_id=None if body.preset_id is None else str(body.preset_id),
        preview_id=None if body.preview_id is None else str(body.preview_id),
        edits=None
        if body.edits is None
        else [edit.model_dump(exclude_unset=True) for edit in body.edits],
        count=body.generation_count,
        webhook=webhook_of(body),
        idempotency=_idempotency(idempotency_key, "start", body.model_dump(mode="json")),
        max_active_jobs=services.settings.max_active_jobs_per_user,
        allow_private_webhooks=services.settings.webhook_allow_private,
        priority=body.priority,
        test=user.test_mode,
    )
    return started_response(started, test=user.test_mode)


@router.post(
    JOBS + "/similar",
    status_code=202,
    response_model=StartResponse,
    responses=responses(402, 404, 409, 429),
    summary="Start new images like one of a finished run's",
)
def similar(
    job_id: uuid.UUID, body: SimilarRequest, user: UserDep, services: ServicesDep
) -> StartResponse:
    """A new run whose images keep that image's attributes except those in `vary` (drawn
    again from the preset's options), with new seeds; checked and reserved like any start."""
    started = start_similar(
        services.database,
        services.store,
        user_id=user.id,
        run_id=str(job_id),
        generation_index=body.generation_index,
        count=body.count,
        vary=body.vary,
        priority=body.priority,
        max_active_jobs=services.settings.max_active_jobs_per_user,
        allow_private_webhooks=services.settings.webhook_allow_private,
        test=user.test_mode,
    )
    return started_response(started, test=user.test_mode)


def _start_problem(body: StartRequest) -> FieldProblem | None:
    if (body.preset_id is None) == (body.preview_id is None):
        return FieldProblem("preset_id", "give either preset_id or preview_id")
    if body.preview_id is not None and body.generation_count is not None:
        return FieldProblem("generation_count", "a preview's prompts are its count: leave it out")
    if body.preview_id is None and body.edits is not None:
        return FieldProblem("edits", "edits apply to a preview: give preview_id")
    return None


@router.post(
    "/api/bulk-generation/preview",
    response_model=PreviewOut,
    responses=responses(404),
    summary="Resolve a preset's prompts for review before paying (free, kept 24 hours)",
)
def preview(body: PreviewRequest, user: UserDep, services: ServicesDep) -> PreviewOut:
    """What the run would make, prompt by prompt, with what was drawn at random: nothing is
    reserved and no job is made. Start it with `POST /api/bulk-generation/start` and
    `{"preview_id": …, "edits": [{"generation_index": 3, "prompt": "…"},
    {"generation_index": 5, "remove": true}]}`."""
    made = preview_run(
        services.database,
        user_id=user.id,
        preset_id=str(body.preset_id),
        count=body.generation_count,
    )
    return PreviewOut.model_validate(made.as_json())


@router.post(
    "/api/batches",
    status_code=202,
    response_model=StartResponse,
    responses=responses(402, 409, 429),
    summary="Queue an explicit prompt list, or one prompt in variations mode",
)
def start_batch(
    body: BatchRequest, user: UserDep, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> StartResponse:
    batch = {
        k: v for k, v in body.model_dump(mode="json").items() if k not in StartFields.model_fields
    }
    started = start_run(
        services.database,
        user_id=user.id,
        batch=batch,
        webhook=webhook_of(body),
        idempotency=_idempotency(idempotency_key, "batch", body.model_dump(mode="json")),
        max_active_jobs=services.settings.max_active_jobs_per_user,
        allow_private_webhooks=services.settings.webhook_allow_private,
        priority=body.priority,
        test=user.test_mode,
    )
    return started_response(started, test=user.test_mode)


@router.get(
    JOBS + "/status",
    response_model=JobStatusOut,
    responses=responses(404),
    summary="A job's status, counts, items, ETA and download link",
)
def status(job_id: uuid.UUID, user: UserDep, services: ServicesDep) -> dict[str, Any]:
    return control.owned_job_status(services.database, user.id, str(job_id), test=user.test_mode)[1]


def _sse(event_id: int, kind: str, data: dict[str, Any]) -> str:
    return f"id: {event_id}\nevent: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get(
    JOBS + "/events",
    responses={
        **responses(404),
        200: {
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "string",
                        "contentMediaType": "text/event-stream",
                        "description": "Events of `id:`, `event:` (`status` or `item`) and "
                        "`data:` (a JSON object) lines, each ended by a blank line",
                    }
                }
            },
            "description": "`status` and `item` events; the stream ends after the final status",
        },
    },
    response_class=StreamingResponse,
    summary="Server-sent events: one per finished item and per status change",
)
def events(
    job_id: uuid.UUID,
    request: Request,
    user: UserDep,
    services: ServicesDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Replays the job's events after `Last-Event-ID` (all of them without it), then follows
    the job live until its final status."""
    feed = event_feed(
        services.database,
        user_id=user.id,
        run_id=str(job_id),
        test=user.test_mode,
        last_event_id=last_event_id,
        disconnected=request.is_disconnected,
    )

    async def stream() -> AsyncIterator[str]:
        async for event in feed:
            yield ": keep-alive\n\n" if event is None else _sse(event.id, event.kind, event.data)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    DOWNLOAD_ROUTE,
    response_class=RedirectResponse,
    status_code=307,
    responses={
        **responses(404),
        200: {"content": {"application/zip": {}}, "description": "The ZIP (local store)"},
        307: {"description": "Redirect to a presigned URL valid for an hour (S3)"},
    },
    summary="Download a finished run's ZIP",
)
def download(user_id: uuid.UUID, run_id: uuid.UUID, user: UserDep, services: ServicesDep) -> Any:
    if str(user_id) != user.id:
        raise NotFound(f"job '{run_id}' does not exist")
    job = control.find_owned_job(services.database, user.id, str(run_id), test=user.test_mode)
    target = zip_download(services.store, job)
    if target.url is not None:
        return RedirectResponse(target.url, status_code=307)
    assert target.path is not None  # a download is a URL or a local file
    return FileResponse(target.path, media_type="application/zip", filename=target.filename)


@router.post(
    JOBS + "/cancel",
    response_model=ActionOut,
    responses=responses(404, 409),
    summary="Cancel a job: queued ones at once, running ones after their current images",
)
def cancel(job_id: uuid.UUID, user: UserDep, services: ServicesDep) -> ActionOut:
    new_status = control.cancel_job(services.database, user_id=user.id, run_id=str(job_id))
    return ActionOut(job_id=str(job_id), status=JobStatus(new_status))


@router.post(
    JOBS + "/retry-failed",
    status_code=202,
    response_model=RetryOut,
    responses=responses(402, 404, 409),
    summary="Make the failed images of a finished run again (at the run's price per image)",
)
def retry_failed(job_id: uuid.UUID, user: UserDep, services: ServicesDep) -> RetryOut:
    retried = control.retry_failed(services.database, user_id=user.id, run_id=str(job_id))
    return RetryOut(
        job_id=retried.job_id,
        status=JobStatus(retried.status),
        pass_number=retried.pass_number,
        images_to_retry=retried.images_to_retry,
        estimated_credits=retried.estimated_credits,
        status_url=status_url(retried.job_id),
        events_url=events_url(retried.job_id),
    )


def run_summary(job: db.JobView, tags: list[str] | None = None) -> RunSummaryOut:
    final = JobStatus(job.status).is_final
    return RunSummaryOut(
        job_id=job.run_id,
        status=JobStatus(job.status),
        preset_id=job.preset_id,
        preset_name=job.preset_name,
        category=job.category,
        total_images=job.total_images,
        completed_images=job.completed_images,
        failed_images=job.failed_images,
        credits_consumed=job.credits_consumed,
        created_at=job.created_at.isoformat(),
        finished_at=job.completed_at.isoformat() if final and job.completed_at else None,
        download_link=job.download_link if job.zip_key else None,
        tags=tags or [],
        test=job.is_test,
    )


@router.get(
    "/api/bulk-generation/runs",
    response_model=RunPageOut,
    responses=responses(),
    summary="Your runs, newest first",
)
def list_runs(
    user: UserDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=100), DECIMAL_DIGITS] = 20,
    tag: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
) -> RunPageOut:
    page = listing.user_runs(
        services.database,
        user.id,
        status=status.value if status else None,
        cursor=cursor,
        limit=limit,
        tag=tag,
        test=user.test_mode,
    )
    tags = run_tags(services.database, [job.run_id for job in page.jobs])
    return RunPageOut(
        runs=[run_summary(job, tags.get(job.run_id)) for job in page.jobs],
        next_cursor=str(page.next_cursor) if page.next_cursor is not None else None,
    )


@router.delete(
    "/api/bulk-generation/runs/{run_id}",
    response_model=DeletedOut,
    responses=responses(404, 409),
    summary="Delete a finished run's files (the job, its history and credit ledger stay)",
)
def delete_run(run_id: uuid.UUID, user: UserDep, services: ServicesDep) -> DeletedOut:
    removed = control.delete_run(
        services.database, services.store, user_id=user.id, run_id=str(run_id)
    )
    return DeletedOut(job_id=str(run_id), objects_deleted=removed)
