"""queued_bulk_jobs: turns queued jobs into partitioned runs, each pass exactly once.

It asks for every job still `queued` (new runs and retry-failed passes alike) on each tick; the
run key (run id, plus the pass for a retry) makes Dagster launch each pass once however many
ticks see it before its run marks it processing. A merchant's backlog beyond the run queue's
per-merchant limit waits in bulkgen's queue rather than Dagster's, so that their high-priority
job is the next one handed over, without overtaking anyone else (runs/scheduling.py).

Each run it asks for is logged once, the first tick that sees it (the cursor holds the run keys
asked for on the previous tick): `bulkgen dev` runs the daemon at WARNING, so that its
per-tick "checking"/"skipped" lines stay out of the operator's log, and this line is how the
operator sees a run being launched.
"""

import json

import dagster as dg
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES
from dagster._core.storage.tags import RUN_KEY_TAG

from ..assets.partitions import bulk_run_partitions
from ..db import JobRow, JobView
from ..domain.kinds import PROMPT_BATCH, snapshot_model
from ..domain.priority import Priority
from ..jobs.bulk import bulk_generation_job, console_log_level
from ..resources.database import DatabaseResource
from ..runs.scheduling import jobs_to_hand_over, queued_jobs

BATCH_SIZE = 100
# The tag the run queue limits per merchant by (deploy/dagster.yaml's tag_concurrency_limits).
MERCHANT_TAG = "user_id"
# A test-mode key's run carries test=true: the UI's runs list filters by it.
TEST_TAG = "test"


def run_tags(job: JobRow | JobView) -> dict[str, str]:
    tags = {
        MERCHANT_TAG: job.user_id,
        "preset_id": job.preset_id or PROMPT_BATCH,
        "category": job.category,
    }
    model = snapshot_model(job.preset_snapshot)
    if model is not None:  # the UI's runs list filters by it
        tags["model"] = model
    if job.priority != Priority.NORMAL:
        tags["priority"] = job.priority
    # Started by a schedule or in a campaign: the UI's runs list filters by either.
    if job.schedule_id is not None:
        tags["schedule_id"] = job.schedule_id
    if job.campaign_id is not None:
        tags["campaign_id"] = job.campaign_id
    if job.is_test:  # a test-mode key's run: preview renderer, nothing charged
        tags[TEST_TAG] = "true"
    return tags


def per_merchant_limit(instance: dg.DagsterInstance) -> int | None:
    """The run queue's limit on one merchant's runs (deploy/dagster.yaml's user_id limit);
    None when the instance has none."""
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        return None
    # The instance's view, which merges dagster.yaml's `concurrency.runs` section (where
    # deploy/dagster.yaml sets the limit) with the run coordinator's own config; the
    # coordinator's alone holds only the latter, and so read no limit in production.
    run_queue = instance.get_concurrency_config().run_queue_config
    for rule in run_queue.tag_concurrency_limits if run_queue else ():
        if rule.get("key") == MERCHANT_TAG:
            return int(rule["limit"])
    return None


def runs_in_dagster(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """Each merchant's run keys of bulk runs Dagster has not finished (queued or running)."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=bulk_generation_job.name, statuses=NOT_FINISHED_STATUSES)
    )
    held: dict[str, set[str]] = {}
    for run in runs:
        user_id, key = run.tags.get(MERCHANT_TAG), run.tags.get(RUN_KEY_TAG)
        if user_id is not None and key is not None:
            held.setdefault(user_id, set()).add(key)
    return held


@dg.sensor(
    name="queued_bulk_jobs",
    job=bulk_generation_job,
    minimum_interval_seconds=1,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one run per queued bulk job (at most 100 per tick), keyed by run id.",
)
def queued_bulk_jobs(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult:
    per_merchant = per_merchant_limit(context.instance)
    queued = queued_jobs(database.get_database(), limit=BATCH_SIZE, per_merchant=per_merchant)
    if not queued:
        return dg.SensorResult(skip_reason=dg.SkipReason("no queued job"), cursor="[]")
    jobs = jobs_to_hand_over(queued, runs_in_dagster(context.instance), per_merchant)
    if not jobs:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("every merchant with queued jobs has runs enough"),
            cursor=context.cursor or "[]",
        )
    seen_last_tick = set(json.loads(context.cursor or "[]"))
    for job in jobs:
        if job.run_key not in seen_last_tick:
            context.log.info(f"job {job.run_id}: launching its run (run key {job.run_key})")
    return dg.SensorResult(
        cursor=json.dumps([job.run_key for job in jobs]),
        run_requests=[
            dg.RunRequest(
                run_key=job.run_key,
                partition_key=job.run_id,
                tags=run_tags(job),
                # A worker slot's stderr gets what the assets log, not every Dagster event.
                run_config=console_log_level("INFO"),
            )
            for job in jobs
        ],
        dynamic_partitions_requests=[
            bulk_run_partitions.build_add_request([job.run_id for job in jobs])
        ],
    )
