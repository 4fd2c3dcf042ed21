"""scheduled_starts: starts the merchants' due schedules (see runs/schedules.py).

Each start is queued as any start is (checked, credits reserved) and the queue sensor hands the
job to Dagster, its run tagged `schedule_id`. This sensor requests no run itself: its tick log
says what each due schedule came to, a started job or the reason it was skipped.
"""

import dagster as dg

from ..config import SensorIntervals
from ..resources.database import DatabaseResource
from ..runs.schedules import start_due


@dg.sensor(
    name="scheduled_starts",
    minimum_interval_seconds=SensorIntervals.from_env().seconds,  # default 30
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts the merchants' due schedules (POST /api/schedules) through the same checks and "
        "reservation as any start, or records why one could not start (schedule.skipped)."
    ),
)
def scheduled_starts(
    context: dg.SensorEvaluationContext, database: DatabaseResource
) -> dg.SensorResult:
    outcomes = start_due(database.get_database())
    if not outcomes:
        return dg.SensorResult(skip_reason=dg.SkipReason("no schedule due"))
    started = skipped = 0
    for due in outcomes:
        when = due.scheduled_for.isoformat()
        if due.run_id is not None:
            started += 1
            context.log.info(f"schedule {due.schedule_id} ({when}): started job {due.run_id}")
        else:
            skipped += 1
            context.log.warning(f"schedule {due.schedule_id} ({when}) skipped: {due.reason}")
    return dg.SensorResult(
        skip_reason=dg.SkipReason(f"{started} scheduled start(s), {skipped} skipped")
    )
