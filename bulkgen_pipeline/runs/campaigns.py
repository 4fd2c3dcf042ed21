"""Catalogue campaigns: one run per product, started together (all or nothing), then followed,
cancelled, retried and exported as one.

A campaign's start is one transaction under the merchant's lock, like a single start: every
item is checked first (each bad one named `items.N.field`, all of them at once), then the room
left (the active-run cap, where the whole campaign counts as one, and the daily image limit
for all its images together), then the credits for all its runs together (402 with the total
needed, nothing queued), and only then is each run reserved and queued through the same step
as any start (`queueing.queue_request`). Each job notes its campaign, which the queue sensor
puts on its Dagster run as the tag `campaign_id`.
"""

from __future__ import annotations

import json
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import db
from ..db import campaigns as stored
from ..db.ledger import lock_user
from ..db.limits import note_low_credits
from ..db.presets import get_presets
from ..db.transitions import settled_image_count
from ..domain.campaigns import MAX_CAMPAIGN_ITEMS, CampaignItem, merged_preset
from ..domain.errors import FieldProblem, InvalidInput
from ..domain.layout import RunLayout
from ..domain.priority import Priority
from ..domain.requests import BulkRequest, preset_request
from ..domain.schema import CategorySchema
from ..domain.statuses import RETRYABLE_JOB_STATUSES, JobStatus
from ..domain.text import name_problem
from ..storage.base import ObjectNotFound, ObjectStore
from .errors import NotFound
from .exports import write_image
from .preflight import CannotExecute, check_can_execute, credits_per_image
from .queueing import check_room, queue_request

if TYPE_CHECKING:
    from ..providers.router import ImageRouter

CampaignView = stored.CampaignView


class ItemsNotFound(NotFound):
    """Items naming a preset that does not exist or is another merchant's (404, as a single
    start's): `problems` names each (`items.3.preset_id`), with any other item's problems."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = InvalidInput(problems).problems
        missing = sum(p.field.endswith(".preset_id") for p in problems)
        super().__init__(f"{missing} item(s) name a preset that does not exist")


@dataclass(frozen=True)
class CampaignStarted:
    campaign: stored.CampaignView
    job_ids: list[str]
    estimated_credits: int


@dataclass(frozen=True)
class Checked:
    """One item, checked: its request, its price per image, the stored preset it runs (None:
    the item is a new preset, kept when the campaign starts)."""

    request: BulkRequest
    price: int
    preset_id: str | None


@dataclass(frozen=True)
class CampaignAction:
    """What cancel or retry-failed did to each of the campaign's runs: `changed` maps each run
    acted on to its new status; `unchanged` counts the others (already ended, or nothing
    missing); `credits` were reserved (retry-failed)."""

    campaign_id: str
    changed: dict[str, str]
    unchanged: int
    credits: int = 0


def start_campaign(
    database: db.Database,
    *,
    user_id: str,
    name: Any,
    items: list[CampaignItem],
    max_active_jobs: int,
    priority: Priority = Priority.NORMAL,
    schema: CategorySchema | None = None,
    router: ImageRouter | None = None,
    test: bool = False,
) -> CampaignStarted:
    """Start one run per item, all or nothing (see the module): InvalidInput naming every bad
    item (ItemsNotFound when some name a preset that is not the merchant's), TooManyActiveJobs,
    DailyLimitReached, db.InsufficientCredits(total needed, available). A `test` campaign (a
    test-mode key's) is checked the same way and its runs are test runs: nothing reserved."""
    problems = _check_name(name) + _check_count(items)
    if problems:
        raise InvalidInput(problems)
    with database.session() as session:
        try:
            user = lock_user(session, user_id)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
        checked = _check_items(session, user_id, items, schema, router)
        images = sum(c.request.image_count for c in checked)
        check_room(session, user_id, images, max_active_jobs, test=test)
        needed = 0 if test else sum(c.request.image_count * c.price for c in checked)
        available = user.credits_balance - user.credits_reserved
        if available < needed:
            raise db.InsufficientCredits(needed, available)
        campaign = stored.add_campaign(
            session, campaign_id=str(uuid.uuid4()), user_id=user_id, name=name.strip()
        )
        job_ids = [_queue(session, user_id, one, priority, test) for one in checked]
        stored.join_campaign(session, campaign.id, job_ids)
        if not test:
            note_low_credits(session, user_id, job_ids[0])  # credits.low, once, when it fell
    return CampaignStarted(campaign, job_ids, needed)


def _check_name(name: Any) -> list[FieldProblem]:
    problem = name_problem(name)
    return [FieldProblem("name", problem)] if problem else []


def _check_count(items: list[CampaignItem]) -> list[FieldProblem]:
    if 1 <= len(items) <= MAX_CAMPAIGN_ITEMS:
        return []
    return [FieldProblem("items", f"give 1-{MAX_CAMPAIGN_ITEMS} items, got {len(items)}")]


def _check_items(
    session: Any,
    user_id: str,
    items: list[CampaignItem],
    schema: CategorySchema | None,
    router: ImageRouter | None,
) -> list[Checked]:
    """Every item checked as a start would check it; InvalidInput naming each bad one's
    field (`items.4.config.material`), ItemsNotFound when some name a preset that is not the
    merchant's (`items.3.preset_id`). The same preset, count and overrides are checked once."""
    checked: list[Checked] = []
    problems: list[FieldProblem] = []
    missing = False
    seen: dict[str, Checked] = {}
    presets = get_presets(session, [item.preset_id for item in items if item.preset_id])
    for index, item in enumerate(items):
        key = json.dumps(
            [item.preset_id, item.generation_count, item.overrides, item.preset], sort_keys=True
        )
        if key in seen:
            checked.append(seen[key])
            continue
        try:
            one = _check_item(session, user_id, item, presets, schema, router)
        except NotFound as exc:
            problems.append(FieldProblem(f"items.{index}.preset_id", str(exc)))
            missing = True
        except InvalidInput as exc:
            problems.extend(
                FieldProblem(f"items.{index}.{p.field}", p.message, p.allowed) for p in exc.problems
            )
        except CannotExecute as exc:
            problems.append(FieldProblem(f"items.{index}.{exc.field}", exc.reason))
        else:
            seen[key] = one
            checked.append(one)
    if missing:
        raise ItemsNotFound(problems)
    if problems:
        raise InvalidInput(problems)
    return checked


def _check_item(
    session: Any,
    user_id: str,
    item: CampaignItem,
    presets: dict[str, db.PresetView],
    schema: CategorySchema | None,
    router: ImageRouter | None,
) -> Checked:
    if item.preset_id is None:
        request = preset_request(item.preset, generation_count=item.generation_count, schema=schema)
    else:
        found = presets.get(item.preset_id)
        if found is None or found.user_id != user_id or found.deleted_at is not None:
            raise NotFound(f"preset '{item.preset_id}' does not exist")
        data: dict[str, Any] = {
            "name": found.name,
            "category": found.category,
            "config": found.config,
        }
        if item.overrides:
            data = merged_preset(data, item.overrides)
        request = preset_request(data, generation_count=item.generation_count, schema=schema)
    check_can_execute(request, router)
    return Checked(request, credits_per_image(request, router), item.preset_id)


def _queue(session: Any, user_id: str, one: Checked, priority: Priority, test: bool) -> str:
    preset_id = one.preset_id
    if preset_id is None:  # a row of its own fields: kept as one of the merchant's presets
        preset = one.request.preset
        assert preset is not None
        canonical = preset.canonical()
        preset_id = db.save_preset(
            session, user_id, preset.name, preset.category, canonical["config"]
        )
    started = queue_request(
        session,
        user_id=user_id,
        request=one.request,
        preset_id=preset_id,
        price=one.price,
        priority=priority,
        test=test,
    )
    return started.job_id


def _owned(session: Any, user_id: str, campaign_id: str, test: bool) -> stored.CampaignView:
    """The merchant's campaign of this key's mode (a test key sees its test campaigns only)."""
    found = stored.get_campaign(session, campaign_id)
    if found is None or found.user_id != user_id or found.progress.test != test:
        raise NotFound(f"campaign '{campaign_id}' does not exist")
    return found


def campaigns_of(
    database: db.Database, user_id: str, test: bool = False
) -> list[stored.CampaignView]:
    """The merchant's campaigns of this key's mode, newest first, each with its progress."""
    with database.session(readonly=True) as session:
        found = stored.list_campaigns(session, user_id)
    return [campaign for campaign in found if campaign.progress.test == test]


def owned_campaign(
    database: db.Database, user_id: str, campaign_id: str, test: bool = False
) -> tuple[stored.CampaignView, list[db.JobView]]:
    """The merchant's campaign with its progress and its runs in the order of its items
    (NotFound for anyone else's)."""
    with database.session(readonly=True) as session:
        found = _owned(session, user_id, campaign_id, test)
        return found, stored.campaign_jobs(session, campaign_id, MAX_CAMPAIGN_ITEMS)


def cancel_campaign(
    database: db.Database, user_id: str, campaign_id: str, test: bool = False
) -> CampaignAction:
    """Every run of the campaign not ended yet, as the single cancel does (queued → cancelled,
    its credits released; running → cancelling), in one transaction."""
    changed: dict[str, str] = {}
    with database.session() as session:
        _owned(session, user_id, campaign_id, test)
        lock_user(session, user_id)
        jobs = stored.campaign_jobs(session, campaign_id, MAX_CAMPAIGN_ITEMS)
        for job in jobs:
            if not JobStatus(job.status).is_final:
                changed[job.run_id] = str(db.request_cancel(session, job.run_id))
    return CampaignAction(campaign_id, changed, len(jobs) - len(changed))


def retry_campaign(
    database: db.Database, user_id: str, campaign_id: str, test: bool = False
) -> CampaignAction:
    """A new pass of every partial or failed run of the campaign for its missing images, as
    the single retry-failed does, all or nothing: db.InsufficientCredits with the total the
    passes need, db.NothingToRetry when no run is missing anything."""
    changed: dict[str, str] = {}
    reserved = 0
    with database.session() as session:
        _owned(session, user_id, campaign_id, test)
        lock_user(session, user_id)
        jobs = stored.campaign_jobs(session, campaign_id, MAX_CAMPAIGN_ITEMS)
        retryable = [
            job
            for job in jobs
            if JobStatus(job.status) in RETRYABLE_JOB_STATUSES and job.deleted_at is None
        ]
        for position, job in enumerate(retryable):
            try:
                _pass, _count, credits = db.requeue_failed(session, job.run_id)
            except db.NothingToRetry:
                continue
            except db.InsufficientCredits as exc:
                rest = _missing_credits(session, retryable[position + 1 :])
                raise db.InsufficientCredits(
                    reserved + exc.needed + rest, reserved + exc.available
                ) from None
            changed[job.run_id], reserved = JobStatus.QUEUED.value, reserved + credits
        if not changed:
            raise db.NothingToRetry(
                "no run of this campaign is partial or failed with images missing"
            )
        note_low_credits(session, user_id, next(iter(changed)))
    return CampaignAction(campaign_id, changed, len(jobs) - len(changed), reserved)


def _missing_credits(session: Any, jobs: list[db.JobView]) -> int:
    """What new passes of these runs would reserve: their missing images at their price."""
    return sum(
        max(0, job.requested_count - settled_image_count(session, job.run_id))
        * job.credits_per_image
        for job in jobs
    )


def export_campaign(
    database: db.Database,
    store: ObjectStore,
    user_id: str,
    campaign_id: str,
    folder: Path,
    test: bool = False,
) -> Path:
    """Write one ZIP of every stored image of the campaign into `folder`: a folder per run
    (`<run_id>/generation_<i>.png` with its metadata JSON) and `campaign.json` listing the runs.
    Images are copied one at a time, so a campaign of any size takes one image of memory."""
    campaign, jobs = owned_campaign(database, user_id, campaign_id, test)
    path = folder / f"campaign_{campaign_id}.zip"
    runs = []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for job in jobs:
            written = (
                [] if job.deleted_at is not None else _write_run(database, store, job, archive)
            )
            runs.append(
                {
                    "job_id": job.run_id,
                    "preset_id": job.preset_id,
                    "name": job.display_name,
                    "status": job.status,
                    "images": written,
                    "files_deleted": job.deleted_at is not None,
                }
            )
        manifest = {"campaign_id": campaign.id, "name": campaign.name, "runs": runs}
        archive.writestr("campaign.json", json.dumps(manifest, indent=2))
    return path


def _write_run(
    database: db.Database, store: ObjectStore, job: db.JobView, archive: zipfile.ZipFile
) -> list[str]:
    """The run's stored images and their metadata into `<run_id>/`; returns the images' names."""
    with database.session(readonly=True) as session:
        items = db.list_items(session, job.run_id)
    layout, written = RunLayout.of(job), []
    for item in items:
        if item.object_key is None:
            continue
        try:  # named as POST /api/exports names them
            written.append(write_image(archive, store, layout, item.generation_index))
        except ObjectNotFound:
            continue
    return written
