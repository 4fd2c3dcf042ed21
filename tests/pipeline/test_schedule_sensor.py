"""The scheduled_starts sensor over a real database (SQLite and PostgreSQL): a due schedule
becomes a queued job through start_run, which the queue sensor hands to Dagster tagged with
`schedule_id`; a start that cannot happen is recorded with its reason and queued as a signed
`schedule.skipped` webhook; missed times are not made up; two ticks at once start once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from sqlalchemy import select, update

from bulkgen_pipeline import db
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.db import schedules as stored
from bulkgen_pipeline.db.models import BackendJob, Schedule, WebhookDelivery
from bulkgen_pipeline.definitions import build_definitions
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.runs.limits import set_daily_ceiling
from bulkgen_pipeline.runs.presets import delete_preset
from bulkgen_pipeline.runs.queueing import Webhook
from bulkgen_pipeline.runs.schedules import create_schedule, start_due
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs
from bulkgen_pipeline.sensors.schedules import scheduled_starts

from ..conftest import premigrated, seed_dagster_storage
from .conftest import Deployment

HOOK = "https://hooks.example.com/bulkgen"
SETTINGS = Settings.from_env(
    {"BULKGEN_WEBHOOK_ALLOW_PRIVATE": "true", "BULKGEN_MAX_ACTIVE_JOBS_PER_USER": "2"}
)


@pytest.fixture
def deployment(tmp_path: Path, database_url: str, request, monkeypatch):
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    monkeypatch.setenv("BULKGEN_WEBHOOK_ALLOW_PRIVATE", "true")  # the sensor reads the env
    url = premigrated(request, database_url)
    db.shared_database(url).upgrade()
    dagster_dir = seed_dagster_storage(tmp_path / "dagster")
    with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
        yield Deployment(url, str(tmp_path / "storage"), instance)


def schedule(d: Deployment, user: str, **fields) -> stored.ScheduleView:
    """A schedule made `ago` (default: two days) back: due now."""
    ago = fields.pop("ago", timedelta(days=2))
    fields.setdefault("cron", "0 9 * * *")
    fields.setdefault("timezone", "Europe/Berlin")
    fields.setdefault("template_id", None)
    return create_schedule(
        d.database,
        user,
        now=datetime.now(UTC) - ago,
        allow_private_webhooks=True,
        **fields,
    )


def tick(d: Deployment, sensor=scheduled_starts):
    context = dg.build_sensor_context(
        instance=d.instance, resources={"database": DatabaseResource(url=d.database_url)}
    )
    return sensor(context)


def jobs_of(d: Deployment, user: str) -> list[BackendJob]:
    with d.database.session() as session:
        return list(session.scalars(select(BackendJob).where(BackendJob.user_id == user)))


def shown(d: Deployment, schedule_id: str) -> stored.ScheduleView:
    with d.database.session(readonly=True) as session:
        found = stored.get_schedule(session, schedule_id)
    assert found is not None
    return found


def test_a_due_schedule_is_started_and_its_dagster_run_is_tagged_with_it(deployment):
    d = deployment
    user = d.user(credits=10)
    made = schedule(d, user, preset_id=d.preset(user), generation_count=2)
    # Made two days ago for 09:00 Berlin: due since then, at 08:00 UTC (winter) or 07:00.
    assert made.next_run_at is not None and made.next_run_at < datetime.now(UTC)

    result = tick(d)
    assert result.skip_reason.skip_message == "1 scheduled start(s), 0 skipped"
    [job] = jobs_of(d, user)
    assert (job.schedule_id, job.status, job.requested_count) == (made.id, "queued", 2)
    assert d.balance(user).credits_reserved == 2  # reserved like any start
    after = shown(d, made.id)
    # Missed times are not made up: one start, then the first 09:00 Berlin after now.
    assert after.next_run_at is not None and after.next_run_at > datetime.now(UTC)
    berlin = after.next_run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (berlin.hour, berlin.minute) == (9, 0)
    assert after.last is not None and (after.last.outcome, after.last.run_id) == (
        "started",
        job.uuid,
    )
    assert after.last.scheduled_for == made.next_run_at

    assert tick(d).skip_reason.skip_message == "no schedule due"  # nothing twice
    assert len(jobs_of(d, user)) == 1

    # The queue sensor hands the job to Dagster with the tag the UI filters runs by.
    [request] = tick(d, queued_bulk_jobs).run_requests
    assert request.tags["schedule_id"] == made.id
    run = d.instance.create_run_for_job(
        build_definitions().resolve_job_def("bulk_generation"), tags=request.tags
    )
    assert run.tags["schedule_id"] == made.id
    d.instance.add_dynamic_partitions("bulk_runs", [job.uuid])
    assert d.materialize(job.uuid).success
    assert d.job(job.uuid)["status"] == "completed"


def test_a_start_without_credits_is_skipped_with_its_reason_and_a_signed_webhook(deployment):
    d = deployment
    user = d.user(credits=1)
    made = schedule(d, user, preset_id=d.preset(user), generation_count=3, webhook=Webhook(HOOK))
    [due] = start_due(d.database, settings=SETTINGS)
    assert (due.run_id, due.reason) == (None, "not enough credits: 3 needed, 1 available")
    assert jobs_of(d, user) == [] and d.balance(user).credits_reserved == 0
    with d.database.session() as session:
        [delivery] = session.scalars(select(WebhookDelivery)).all()
        history = stored.schedule_history(session, made.id)
    assert (delivery.event_type, delivery.run_id, delivery.url) == ("schedule.skipped", None, HOOK)
    payload = json.loads(delivery.payload)
    assert payload["type"] == "schedule.skipped"
    assert payload["data"] == {
        "schedule_id": made.id,
        "reason": "not enough credits: 3 needed, 1 available",
        "scheduled_for": made.next_run_at.isoformat(),
        "paused": False,
    }
    assert [(h.outcome, h.reason) for h in history] == [("skipped", due.reason)]
    assert shown(d, made.id).status == "active"  # the next time tries again


def test_limits_skip_with_when_they_reset_and_a_deleted_preset_pauses(deployment):
    d = deployment
    user = d.user(credits=100)
    preset = d.preset(user)
    set_daily_ceiling(d.database, user, 3)
    limited = schedule(d, user, preset_id=preset, generation_count=4)
    [due] = start_due(d.database, settings=SETTINGS)
    assert due.reason.startswith("daily image limit reached: 0 of 3 images started today")
    assert "it resets at " in due.reason

    set_daily_ceiling(d.database, user, None)
    busy = [schedule(d, user, preset_id=preset, generation_count=1) for _ in range(3)]
    outcomes = start_due(d.database, settings=SETTINGS)  # due at one time, any order
    assert sorted(o.schedule_id for o in outcomes) == sorted(s.id for s in busy)
    assert len([o for o in outcomes if o.run_id is not None]) == 2
    [refused] = [o.reason for o in outcomes if o.run_id is None]
    assert refused.startswith("you already have 2 queued or running jobs")

    delete_preset(d.database, user, preset)
    for made in (limited, *busy):  # due again
        with d.database.session() as session:
            session.execute(
                update(Schedule)
                .where(Schedule.id == made.id)
                .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
            )
    gone = start_due(d.database, settings=SETTINGS)
    assert {o.reason for o in gone} == {"the preset was deleted; the schedule is paused"}
    assert {(shown(d, s.id).status, shown(d, s.id).next_run_at) for s in busy} == {("paused", None)}


def test_two_ticks_at_once_start_a_due_schedule_once(deployment):
    d = deployment
    user = d.user(credits=100)
    made = [schedule(d, user, preset_id=d.preset(user), generation_count=1) for _ in range(2)]
    barrier = threading.Barrier(4)
    outcomes: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.extend(start_due(d.database, settings=SETTINGS))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.schedule_id for o in outcomes) == sorted(s.id for s in made)
    assert all(o.run_id is not None for o in outcomes)
    assert len(jobs_of(d, user)) == 2
    # The claim itself: a time already moved on is not claimed again.
    due_at = made[0].next_run_at
    with d.database.session() as session:
        assert not stored.claim_due(session, made[0].id, due_at, datetime.now(UTC))
