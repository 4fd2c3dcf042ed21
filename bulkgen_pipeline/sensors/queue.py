"""queued_bulk_jobs: turns queued jobs into partitioned runs, each exactly once."""

import dagster as dg

from .. import db
from ..assets.partitions import bulk_run_partitions
from ..jobs.bulk import bulk_generation_job
from ..resources.database import DatabaseResource

BATCH_SIZE = 100


def run_tags(job) -> dict[str, str]:
    return {
        "user_id": job.user_id,
        "preset_id": job.preset_id or "prompt_batch",
        "category": job.category,
    }


@dg.sensor(
    name="queued_bulk_jobs",
    job=bulk_generation_job,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests one run per queued bulk job (at most 100 per tick), keyed by run id.",
)
def queued_bulk_jobs(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult:
    after = int(context.cursor or 0)
    with database.get_database().session() as session:
        jobs = db.jobs_after(session, after, limit=BATCH_SIZE)
    if not jobs:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(f"no job queued after #{after}"), cursor=str(after)
        )
    # Only queued jobs run; cancelled ones, and ones a CLI claimed itself, are passed over for good.
    queued = [job for job in jobs if job.status == "queued"]
    for job in jobs:
        if job.status != "queued":
            context.log.info(f"skipping job {job.run_id}: status {job.status}")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=job.run_id, partition_key=job.run_id, tags=run_tags(job))
            for job in queued
        ],
        dynamic_partitions_requests=[
            bulk_run_partitions.build_add_request([job.run_id for job in queued])
        ]
        if queued
        else [],
        cursor=str(max(job.seq for job in jobs)),
    )
