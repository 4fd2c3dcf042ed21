"""`python -m bulkgen_pipeline.workers.daemon run …`: the Dagster daemon, its sensor loop every
second instead of every five.

Dagster's sensor daemon looks for due sensors every 5 s whatever a sensor's own interval
(`MIN_INTERVAL_LOOP_TIME`, not configurable), so a queued job waited 2.5 s on average (up to 5)
for the `queued_bulk_jobs` sensor even though its interval is 1 s: half of an idle merchant's
wait for a first image on the production shape. A loop finds nothing due in a few
milliseconds; the sensors' own intervals still decide when each is evaluated.
"""

from __future__ import annotations

import dagster._daemon.sensor as sensor_daemon
from dagster._daemon.cli import main

SENSOR_LOOP_S = 1


def run() -> None:
    sensor_daemon.MIN_INTERVAL_LOOP_TIME = SENSOR_LOOP_S
    main()


if __name__ == "__main__":
    run()
