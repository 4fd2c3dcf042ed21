"""When a bulk run ends badly in Dagster, its job says so and its credit reservation comes back.

bulk_run_failures: a run failed by a step marks the job failed with the asset's error; a run
that failed with no step failing lost its run worker, and its job is resumed.
bulk_run_cancellations: a run terminated in the UI, or dropped from the run queue, marks the job
cancelled (run-failure sensors never see those: Dagster ends them CANCELED, not FAILED).
Both leave a job alone when a newer Dagster run already works on it. They watch every run of
the bulk job, including ones with no code location behind them (the CLI executes runs
in-process): Dagster's `monitored_jobs` filter would silently skip those.
"""

from collections.abc import Iterable

import dagster as dg
from dagster._core.events import JobFailureData, RunFailureReason

from ..config import SensorIntervals
from ..jobs.bulk import bulk_generation_job
from ..resources.database import DatabaseResource
from ..runs.ending import end_run

PARTITION_TAG = "dagster/partition"
RUN_KEY_TAG = "dagster/run_key"


def bulk_job_of(run: dg.DagsterRun) -> tuple[str | None, str | None]:
    """(job id, run key) of a Dagster run of the bulk job; (None, None) for any other run."""
    if run.job_name != bulk_generation_job.name:
        return None, None
    return run.tags.get(PARTITION_TAG), run.tags.get(RUN_KEY_TAG)


# What each step of a bulk run does, in the words a merchant reads in a failed job's error.
STEP_ACTIVITIES = {
    "resolved_prompts": "resolving the prompts",
    "generated_images": "generating the images",
    "bulk_zip": "packaging the ZIP",
    "run_analytics": "writing analytics.json",
    "run_settlement": "settling the credits",
}


def unexpected_step_error(step_key: str | None) -> str:
    activity = STEP_ACTIVITIES.get(step_key or "", "running the job")
    # The exception itself (class, traceback) is for operators: it is in the run's event log.
    return (
        f"The run stopped because of an unexpected error while {activity}. The images made "
        "so far are kept; retry the job to make the missing ones."
    )


def failure_message(step_failures: Iterable[dg.DagsterEvent], fallback: str) -> str:
    """The most useful sentence about why a run failed: the asset's own Failure text if any,
    else what the failing step was doing (never an exception's class name)."""
    for event in step_failures:
        data = event.step_failure_data
        if data is None:
            continue
        if data.user_failure_data is not None and data.user_failure_data.description:
            return data.user_failure_data.description
        if data.error is not None:
            return unexpected_step_error(event.step_key)
    return fallback


def run_failure_message(instance: dg.DagsterInstance, dagster_run_id: str, fallback: str) -> str:
    records = instance.all_logs(dagster_run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    return failure_message((r.dagster_event for r in records if r.dagster_event), fallback)


# Run failures that mean the code or the run itself is broken, not its process: resuming would
# fail the same way.
_BROKEN_RUN_REASONS = frozenset(
    {RunFailureReason.JOB_INITIALIZATION_FAILURE, RunFailureReason.RUN_EXCEPTION}
)


def executor_lost(failure_event: dg.DagsterEvent) -> bool:
    """Whether a run failure with no failed step says its process died (reported by the code
    server or run monitoring, or the run never started), rather than that the run could not
    initialise or raised outside its steps."""
    data = failure_event.event_specific_data
    reason = data.failure_reason if isinstance(data, JobFailureData) else None
    return reason not in _BROKEN_RUN_REASONS


@dg.run_failure_sensor(
    name="bulk_run_failures",
    minimum_interval_seconds=SensorIntervals.from_env().seconds,  # default 30, as Dagster's
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks a bulk job failed with the run's error and releases its credit reservation.",
)
def bulk_run_failures(context: dg.RunFailureSensorContext, database: DatabaseResource) -> None:
    run_id, key = bulk_job_of(context.dagster_run)
    if not run_id:
        return
    step_failures = context.get_step_failure_events()
    dagster_run_id = context.dagster_run.run_id
    if not step_failures and executor_lost(context.failure_event):
        # No step failed: the run worker died (kill -9, out of memory, a lost machine) and
        # Dagster noticed before the job's lease ran out. Resume it, as the lease watch would.
        status = end_run(
            database.get_database(),
            run_id,
            dagster_run_id=dagster_run_id,
            key=key,
            executor_lost=True,
            max_resumes=database.max_resumes,
        )
        context.log.info(f"job {run_id} lost its run worker: now {status}")
        return
    message = failure_message(step_failures, context.failure_event.message or "run failed")
    status = end_run(
        database.get_database(), run_id, dagster_run_id=dagster_run_id, key=key, reason=message
    )
    context.log.info(f"job {run_id} is {status}: {message}")


@dg.run_status_sensor(
    name="bulk_run_cancellations",
    minimum_interval_seconds=SensorIntervals.from_env().seconds,  # default 30, as Dagster's
    run_status=dg.DagsterRunStatus.CANCELED,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks a bulk job cancelled when its Dagster run is cancelled; releases credits.",
)
def bulk_run_cancellations(context: dg.RunStatusSensorContext, database: DatabaseResource) -> None:
    run_id, key = bulk_job_of(context.dagster_run)
    if not run_id:
        return
    status = end_run(
        database.get_database(),
        run_id,
        dagster_run_id=context.dagster_run.run_id,
        key=key,
        cancelled=True,
    )
    context.log.info(f"job {run_id} is {status} after its Dagster run was cancelled")
