"""settled_runs_to_analytics: refresh the data team's facts and report as runs settle.

Watches run_settlement materializations in the event log, so runs count whatever launched
them (the queue sensor, `bulkgen run` in-process, the UI) and a run settled again after
retry-failed is seen again. One refresh at a time: while one runs, newer settlements wait for
the next tick, and that refresh picks up everything settled since the previous one.
"""

import dagster as dg

from ..assets.analytics import latest_settlement_id
from ..config import SensorIntervals
from ..jobs.analytics import ANALYTICS_JOB_NAME, analytics_job

_ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


@dg.sensor(
    name="settled_runs_to_analytics",
    job=analytics_job,
    minimum_interval_seconds=SensorIntervals.from_env().seconds,  # default 30
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes generation_facts and the randomization report after runs settle.",
)
def settled_runs_to_analytics(context: dg.SensorEvaluationContext):
    latest = latest_settlement_id(context.instance)
    if latest is None:
        return dg.SkipReason("no run has settled yet")
    if context.cursor and latest <= int(context.cursor):
        return dg.SkipReason("no run settled since the last refresh")
    active = context.instance.get_runs(
        dg.RunsFilter(job_name=ANALYTICS_JOB_NAME, statuses=_ACTIVE), limit=1
    )
    if active:
        return dg.SkipReason("a refresh is running; newer settlements go into the next one")
    context.update_cursor(str(latest))
    return dg.RunRequest(run_key=f"settled-{latest}")
