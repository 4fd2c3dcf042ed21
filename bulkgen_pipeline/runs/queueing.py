"""Queueing a bulk run: one validation path for the CLI, the Dagster launchpad and the API.

The checks run in the seed's order, each with its own error: the preset exists and is the
caller's (NotFound); a generator exists for its category (PresetValidationError on `category`,
CannotExecute when no enabled provider can make it); the count is 1–50 (PresetValidationError
on `generation_count`); the user has fewer than the allowed active jobs (TooManyActiveJobs);
the images stay within the user's daily limit (DailyLimitReached); enough credits
(db.InsufficientCredits). Only then are credits reserved. An idempotency key
replays the first answer for the same request (IdempotencyConflict for a different one).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import db
from ..config import Settings
from ..db.idempotency import store_answer, stored_answer
from ..db.ledger import lock_user
from ..db.limits import daily_images, note_low_credits
from ..db.previews import mark_preview_started
from ..db.schedules import mark_job_scheduled
from ..domain.errors import FieldProblem, PresetValidationError
from ..domain.limits import DailyLimitReached
from ..domain.priority import Priority
from ..domain.requests import BulkRequest, batch_request, preset_request
from ..domain.schema import CategorySchema
from ..domain.statuses import JobStatus
from ..webhooks.policy import WebhookUrlRejected, check_webhook_url
from .errors import NotFound
from .preflight import check_can_execute, credits_per_image
from .previews import reviewed_request

if TYPE_CHECKING:
    from ..providers.router import ImageRouter

ACTIVE_JOBS_RETRY_AFTER_S = 30


class TooManyActiveJobs(RuntimeError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.retry_after = ACTIVE_JOBS_RETRY_AFTER_S
        super().__init__(
            f"you already have {limit} queued or running jobs, the most allowed; "
            "wait for one to finish"
        )


class IdempotencyConflict(RuntimeError):
    """The idempotency key was used for a different request in the last 24 hours."""


@dataclass(frozen=True)
class Webhook:
    url: str
    events: list[str] | None = None


@dataclass(frozen=True)
class Started:
    job_id: str
    status: str
    estimated_credits: int
    replayed: bool = False  # answered from an earlier request with the same idempotency key


@dataclass(frozen=True)
class Idempotency:
    key: str
    fingerprint: str  # of the request: the same key with another request is a conflict

    @staticmethod
    def of(key: str, *parts: Any) -> Idempotency:
        body = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return Idempotency(key, hashlib.sha256(body.encode()).hexdigest())


def start_run(
    database: db.Database,
    *,
    user_id: str,
    preset_id: str | None = None,
    batch: Any = None,
    count: int | None = None,
    webhook: Webhook | None = None,
    idempotency: Idempotency | None = None,
    max_active_jobs: int | None = None,
    allow_private_webhooks: bool | None = None,
    claim: bool = False,
    schema: CategorySchema | None = None,
    settings: Settings | None = None,
    router: ImageRouter | None = None,
    priority: Priority = Priority.NORMAL,
    preview_id: str | None = None,
    edits: Any = None,
    derived: dict[str, Any] | None = None,
    schedule_id: str | None = None,
    test: bool = False,
) -> Started:
    """Queue a preset run (`preset_id`), a prompt batch (`batch`), a reviewed preview
    (`preview_id` with `edits`) or a preset `derived` from one of `preset_id`'s runs (similar
    images): every check, then the reservation, in one transaction. The API, the console, the
    CLI and the schedules (`schedule_id`, noted on the job) all come here.

    The cap on active jobs and the webhook address rule are `max_active_jobs` and
    `allow_private_webhooks`, else those of the caller's `settings`
    (BULKGEN_MAX_ACTIVE_JOBS_PER_USER, BULKGEN_WEBHOOK_ALLOW_PRIVATE); only a caller with
    neither (a test, the Dagster launchpad) has them read from the environment here. Whether a
    provider can make the request is asked of `router`, by default the process's own.

    A `test` start (a test-mode key's) is checked the same way but reserves no credits (its
    run uses the preview renderer and is never charged), counts against its own cap on active
    jobs and not against the daily image limit, a spending limit."""
    if sum(x is not None for x in (preset_id, batch, preview_id)) != 1:
        raise ValueError("give exactly one of preset_id, batch or preview_id")
    if max_active_jobs is None or allow_private_webhooks is None:
        settings = settings or Settings.from_env()
        if max_active_jobs is None:
            max_active_jobs = settings.max_active_jobs_per_user
        if allow_private_webhooks is None:
            allow_private_webhooks = settings.webhook_allow_private
    _check_webhook(webhook, allow_private=allow_private_webhooks)
    with database.session() as session:
        try:
            lock_user(session, user_id)  # serialises this user's starts: keys, cap, credits
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
        if test and idempotency is not None:  # a live key's answer is never a test one's
            idempotency = Idempotency(idempotency.key, "test:" + idempotency.fingerprint)
        earlier = _earlier_answer(session, user_id, idempotency)
        if earlier is not None:
            return earlier
        if preview_id is not None:
            request, preset_id = reviewed_request(session, user_id, preview_id, edits, router)
        else:
            request = _request(session, user_id, preset_id, batch, count, derived, schema, router)
        check_room(session, user_id, request.image_count, max_active_jobs, test=test)
        started = queue_request(
            session,
            user_id=user_id,
            request=request,
            preset_id=preset_id,
            price=credits_per_image(request, router),
            webhook=webhook,
            priority=priority,
            # A run started from a preview keeps its id: the prompts it shows are the run's.
            run_id=preview_id,
            schedule_id=schedule_id,
            claim=claim,
            test=test,
        )
        if preview_id is not None:
            mark_preview_started(session, preview_id, started.job_id)
        if not test:
            note_low_credits(session, user_id, started.job_id)  # credits.low, once, when it fell
        _remember_answer(session, user_id, idempotency, started)
        return started


def queue_request(
    session: Any,
    *,
    user_id: str,
    request: BulkRequest,
    preset_id: str | None,
    price: int,
    webhook: Webhook | None = None,
    priority: Priority = Priority.NORMAL,
    run_id: str | None = None,
    schedule_id: str | None = None,
    claim: bool = False,
    test: bool = False,
) -> Started:
    """A start's last step, in the caller's transaction (which holds the user's lock and has
    checked the request and the room left): reserve its images at `price` credits each and
    queue the job (db.InsufficientCredits(needed, available) when they are not there). A
    `test` job reserves nothing and is estimated at 0 credits."""
    run_id = db.queue_bulk_job(
        session,
        user_id=user_id,
        preset_id=preset_id,
        category=request.category,
        preset_snapshot=request.snapshot(),
        image_count=request.image_count,
        webhook_url=webhook.url if webhook else None,
        webhook_events=webhook.events if webhook else None,
        priority=priority,
        credits_per_image=price,
        run_id=run_id,
        is_test=test,
    )
    if schedule_id is not None:
        mark_job_scheduled(session, run_id, schedule_id)
    if claim:
        db.mark_job_processing(session, run_id, None)
    return Started(run_id, JobStatus.QUEUED, 0 if test else request.image_count * price)


def _check_webhook(webhook: Webhook | None, *, allow_private: bool) -> None:
    if webhook is None:
        return
    try:
        check_webhook_url(webhook.url, allow_private=allow_private)
    except WebhookUrlRejected as exc:
        raise PresetValidationError([FieldProblem("webhook_url", str(exc))]) from None


def _earlier_answer(session: Any, user_id: str, idempotency: Idempotency | None) -> Started | None:
    """The first answer to a request with this idempotency key (IdempotencyConflict when the
    key came with another request); None when there is none."""
    if idempotency is None:
        return None
    earlier = stored_answer(session, user_id, idempotency.key)
    if earlier is None:
        return None
    if earlier.request_hash != idempotency.fingerprint:
        raise IdempotencyConflict("this Idempotency-Key was already used for a different request")
    return Started(**earlier.response, replayed=True)


def _request(
    session: Any,
    user_id: str,
    preset_id: str | None,
    batch: Any,
    count: int | None,
    derived: dict[str, Any] | None,
    schema: CategorySchema | None,
    router: ImageRouter | None,
) -> BulkRequest:
    """What a start asks for, checked: a preset `derived` from one of `preset_id`'s runs, the
    stored preset, or a prompt batch."""
    if derived is not None:
        request = preset_request(derived, schema=schema)
    elif preset_id is not None:
        return preset_request_for(session, user_id, preset_id, count, schema, router)
    else:
        request = batch_request(batch)
    check_can_execute(request, router)
    return request


def check_room(
    session: Any, user_id: str, images: int, max_active_jobs: int, *, test: bool = False
) -> None:
    """The merchant may start `images` more now: fewer active jobs than the cap (a campaign's
    runs count once: db.active_job_count; live and `test` jobs each against their own), and,
    for a live start, within the daily image limit (test images spend nothing)."""
    if db.active_job_count(session, user_id, test=test) >= max_active_jobs:
        raise TooManyActiveJobs(max_active_jobs)
    if test:
        return
    day = daily_images(session, user_id)
    if not day.allows(images):
        raise DailyLimitReached(day, images)


def _remember_answer(
    session: Any, user_id: str, idempotency: Idempotency | None, started: Started
) -> None:
    if idempotency is None:
        return
    store_answer(
        session,
        user_id,
        idempotency.key,
        request_hash=idempotency.fingerprint,
        status_code=202,
        response={
            "job_id": started.job_id,
            "status": started.status,
            "estimated_credits": started.estimated_credits,
        },
    )


def preset_request_for(
    session: Any,
    user_id: str,
    preset_id: str,
    count: int | None,
    schema: CategorySchema | None,
    router: ImageRouter | None,
) -> BulkRequest:
    stored = db.get_preset(session, preset_id)
    if stored is None or stored.user_id != user_id or stored.deleted_at is not None:
        raise NotFound(f"preset '{preset_id}' does not exist")
    data = {"name": stored.name, "category": stored.category, "config": stored.config}
    request = preset_request(data, schema=schema)  # the category and its attributes
    check_can_execute(request, router)  # a provider can make it
    if count is not None:
        request = preset_request(data, generation_count=count, schema=schema)
    return request


def queue_preset_run(
    database: db.Database,
    *,
    user_id: str,
    preset_id: str,
    count: int | None = None,
    claim: bool = False,
    schema: CategorySchema | None = None,
    settings: Settings | None = None,
) -> str:
    """Validate the preset as it is now, freeze it on the job, reserve credits; returns the run id.

    `claim` marks the job processing in the same transaction, for callers that execute the run
    themselves (the CLI), so the queue sensor never launches it a second time.
    """
    return start_run(
        database,
        user_id=user_id,
        preset_id=preset_id,
        count=count,
        claim=claim,
        schema=schema,
        settings=settings,
    ).job_id


def queue_prompt_batch(
    database: db.Database,
    *,
    user_id: str,
    batch: Any,
    claim: bool = False,
    settings: Settings | None = None,
) -> str:
    return start_run(database, user_id=user_id, batch=batch, claim=claim, settings=settings).job_id
