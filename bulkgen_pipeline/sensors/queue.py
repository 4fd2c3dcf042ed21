"""queued_bulk_jobs: turns queued jobs into partitioned runs, each pass exactly once.

It asks for every job still `queued` (new runs and retry-failed passes alike) on each tick; the
run key (run id, plus the pass for a retry) makes Dagster launch each pass once however many
ticks see it before its run marks it processing.

Each run it asks for is logged once, the first tick that sees it (the cursor holds the run keys
asked for on the previous tick): `bulkgen dev` runs the daemon at WARNING, so that its
per-tick "checking"/"skipped" lines stay out of the operator's log, and this line is how the
operator sees a run being launched.
"""

import json

import dagster as dg

from .. import db
from ..assets.partitions import bulk_run_partitions
from ..domain.kinds import PROMPT_BATCH, snapshot_model
from ..jobs.bulk import bulk_generation_job, console_log_level
from ..resources.database import DatabaseResource

BATCH_SIZE = 100


def run_tags(job) -> dict[str, str]:
    tags = {
        "user_id": job.user_id,
        "preset_id": job.preset_id or PROMPT_BATCH,
        "category": job.category,
    }
    model = snapshot_model(job.preset_snapshot)
    if model is not None:  # the UI's runs list filters by it
        tags["model"] = model
    return tags


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
    with database.get_database().session(readonly=True) as session:
        jobs = db.queued_jobs(session, limit=BATCH_SIZE)
    if not jobs:
        return dg.SensorResult(skip_reason=dg.SkipReason("no queued job"), cursor="[]")
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
