"""`bulkgen run`, `status`, `cancel`, `retry-failed`, `resume`: bulk runs from the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..config import Settings
from ..domain.errors import PresetValidationError
from ..domain.statuses import JobStatus
from .common import database, emit, fail, main, read_json

if TYPE_CHECKING:
    from .. import db


@main.command("run")
@click.option("--user", "user_id", required=True)
@click.option("--preset", "preset_id", help="Preset id to run")
@click.option(
    "--batch",
    "batch_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Prompt batch JSON file instead of a preset",
)
@click.option(
    "--count", type=int, help="Generations (1-50); default: the preset's generation_count"
)
@click.option(
    "--queue-only",
    is_flag=True,
    help="Only queue it; the queued_bulk_jobs sensor launches it (bulkgen dev, or a daemon)",
)
def run(
    user_id: str,
    preset_id: str | None,
    batch_path: str | None,
    count: int | None,
    queue_only: bool,
) -> None:
    """Queue a bulk run and execute it now; prints a JSON summary (non-zero exit if it failed).

    With --queue-only it prints the queued job's status instead and leaves the run to the sensor.
    """
    from .. import db
    from ..domain.limits import DailyLimitReached
    from ..runs.queueing import NotFound, TooManyActiveJobs, queue_preset_run, queue_prompt_batch
    from ..runs.status import job_summary_of

    if (preset_id is None) == (batch_path is None):
        fail("give exactly one of --preset or --batch")
    settings = Settings.from_env()
    database_ = database(settings)
    try:
        if preset_id is not None:
            run_id = queue_preset_run(
                database_,
                user_id=user_id,
                preset_id=preset_id,
                count=count,
                claim=not queue_only,
                settings=settings,
            )
        else:
            assert batch_path is not None
            run_id = queue_prompt_batch(
                database_,
                user_id=user_id,
                batch=read_json(batch_path),
                claim=not queue_only,
                settings=settings,
            )
    except PresetValidationError as exc:
        fail("invalid request", **exc.report())
    except (NotFound, TooManyActiveJobs, DailyLimitReached, db.InsufficientCredits) as exc:
        fail(str(exc))
    if queue_only:
        emit(job_summary_of(database_, run_id))
        return
    status = run_now(run_id, settings, database_)
    emit(summary_of(status, settings))
    if status["status"] != JobStatus.COMPLETED:
        raise SystemExit(1)


def run_now(run_id: str, settings: Settings, database: db.Database) -> dict[str, Any]:
    # Imported here: loading Dagster takes a second the other commands should not pay.
    import dagster as dg

    from ..definitions import build_definitions, build_resources
    from ..jobs.in_process import execute_bulk_run, prepare_dagster_home
    from .common import err

    prepare_dagster_home(settings)
    definitions = build_definitions(build_resources(settings))
    with dg.DagsterInstance.get() as instance:
        if not err.is_terminal:
            return execute_bulk_run(
                run_id, definitions=definitions, database=database, instance=instance
            )
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err, transient=False) as progress:
            task = progress.add_task(f"run {run_id[:8]}", total=None)

            def show(status: dict[str, Any]) -> None:
                done = (status.get("completed_images") or 0) + (status.get("failed_images") or 0)
                progress.update(
                    task,
                    total=status.get("total_images"),
                    completed=done,
                    description=(
                        f"run {run_id[:8]} · {status.get('status')} · "
                        f"{status.get('failed_images') or 0} failed"
                    ),
                )

            return execute_bulk_run(
                run_id,
                definitions=definitions,
                database=database,
                instance=instance,
                on_progress=show,
            )


def summary_of(status: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The run's JSON summary, with the ZIP and analytics as paths or URLs a person can open."""
    from ..domain.layout import RunLayout
    from ..storage import open_object_store

    store = open_object_store(settings.storage_url)
    layout = RunLayout.of_summary(status)
    zip_key, analytics_key = layout.zip_key, layout.analytics_key
    return {
        "job_id": status["job_id"],
        "status": status["status"],
        "completed_images": status.get("completed_images", 0),
        "failed_images": status.get("failed_images", 0),
        "credits_consumed": status.get("credits_consumed", 0),
        "zip": store.location(zip_key) if store.exists(zip_key) else None,
        "analytics": store.location(analytics_key) if store.exists(analytics_key) else None,
        "error": status.get("error"),
    }


@main.command("status")
@click.argument("job_id")
def status(job_id: str) -> None:
    """Print a job's status as JSON: what the API shows its owner, plus who holds its lease."""
    from ..readmodel import read_job
    from ..runs.status import job_status, status_query

    with status_query(Settings.from_env().database_url) as query:
        job = read_job(query, job_id)
        if job is None:
            fail(f"no job '{job_id}'")
        view = job_status(query, job)
    lease = job.lease_expires_at.isoformat() if job.lease_expires_at else None
    emit(
        {
            **view,
            "user_id": job.user_id,
            "resume_count": job.resume_count,
            "lease_owner": job.lease_owner,
            "lease_expires_at": lease,
        }
    )


@main.command("cancel")
@click.argument("job_id")
def cancel(job_id: str) -> None:
    """Cancel a job: a queued job never runs; a running one stops submitting new images."""
    from ..runs.control import JobConflict, cancel_job
    from ..runs.queueing import NotFound

    try:
        status = cancel_job(database(Settings.from_env()), user_id=None, run_id=job_id)
    except (NotFound, JobConflict) as exc:
        fail(str(exc))
    emit({"job_id": job_id, "status": status})


def _execute_claimed(run_id: str, settings: Settings, database_: db.Database) -> None:
    status = run_now(run_id, settings, database_)
    emit(summary_of(status, settings))
    if status["status"] != JobStatus.COMPLETED:
        raise SystemExit(1)


@main.command("retry-failed")
@click.argument("job_id")
@click.option("--queue-only", is_flag=True, help="Only queue the new pass; the sensor launches it")
def retry_failed(job_id: str, queue_only: bool) -> None:
    """Make the failed images of a finished (partial or failed) run again, one credit each;
    the ZIP, analytics and history then include them."""
    from .. import db
    from ..runs.control import JobConflict
    from ..runs.control import retry_failed as retry
    from ..runs.queueing import NotFound

    settings = Settings.from_env()
    database_ = database(settings)
    try:
        retried = retry(database_, user_id=None, run_id=job_id, claim=not queue_only)
    except (NotFound, JobConflict, db.NothingToRetry, db.InsufficientCredits) as exc:
        fail(str(exc))
    if queue_only:
        emit({"job_id": job_id, "status": retried.status, "images": retried.images_to_retry})
        return
    _execute_claimed(job_id, settings, database_)


@main.command("resume")
@click.argument("job_id")
@click.option("--queue-only", is_flag=True, help="Only queue it; the sensor launches it")
def resume(job_id: str, queue_only: bool) -> None:
    """Take over a job whose executor died (processing or cancelling): make only its missing
    images now, or end it cancelled. The lease watch does the same by itself once the lease
    has expired (BULKGEN_LEASE_SECONDS)."""
    from ..runs.control import JobConflict
    from ..runs.leases import resume_job
    from ..runs.queueing import NotFound

    settings = Settings.from_env()
    database_ = database(settings)
    try:
        status = resume_job(
            database_,
            run_id=job_id,
            max_resumes=settings.max_resumes,
            claim=not queue_only,
        )
    except (NotFound, JobConflict) as exc:
        fail(str(exc))
    if queue_only or status != JobStatus.PROCESSING:
        emit({"job_id": job_id, "status": status})
        return
    _execute_claimed(job_id, settings, database_)
