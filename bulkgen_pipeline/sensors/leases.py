"""stranded_jobs: the lease watch (see runs/leases.py)."""

import dagster as dg

from ..config import SensorIntervals
from ..resources.database import DatabaseResource
from ..runs.leases import recover_stranded

LEASE_WATCH_SECONDS = SensorIntervals.from_env().seconds  # default 30


@dg.sensor(
    name="stranded_jobs",
    minimum_interval_seconds=LEASE_WATCH_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Resumes jobs whose executor stopped renewing their lease (only the missing images are "
        "made), or fails them past BULKGEN_MAX_RESUMES with their credits released."
    ),
)
def stranded_jobs(context: dg.SensorEvaluationContext, database: DatabaseResource):
    outcome = recover_stranded(
        database.get_database(),
        lease_seconds=database.lease_seconds,
        max_resumes=database.max_resumes,
    )
    for run_id, status in outcome.items():
        context.log.warning(f"job {run_id} lost its executor: now {status}")
    return dg.SkipReason(
        f"{len(outcome)} stranded job(s) handled" if outcome else "no stranded job"
    )
