"""bulk_generation: the asset job one bulk run executes, partitioned by run id."""

import dagster as dg

from ..assets.images import generated_images_asset
from ..assets.packaging import bulk_zip, run_analytics
from ..assets.partitions import bulk_run_partitions
from ..assets.prompts import resolved_prompts
from ..assets.settlement import run_settlement

BULK_JOB_NAME = "bulk_generation"
BULK_ASSET_NAMES = (
    "resolved_prompts",
    "generated_images",
    "bulk_zip",
    "run_analytics",
    "run_settlement",
)


def bulk_assets(images_pool: str) -> list[dg.AssetsDefinition]:
    """The assets of one bulk run, generated_images in the providers' concurrency pool."""
    assets = [
        resolved_prompts,
        generated_images_asset(images_pool),
        bulk_zip,
        run_analytics,
        run_settlement,
    ]
    assert tuple(a.key.to_user_string() for a in assets) == BULK_ASSET_NAMES
    return assets


bulk_generation_job = dg.define_asset_job(
    BULK_JOB_NAME,
    selection=dg.AssetSelection.assets(*BULK_ASSET_NAMES),
    partitions_def=bulk_run_partitions,
    description="One bulk run: prompts → images → ZIP + analytics → settlement",
    # Every step in the run worker's own process: a process per step costs the time to start
    # Python and load the code (seconds each) for steps that are I/O-bound threads anyway. A
    # crash of the worker ends the whole run; the lease watch resumes it (missing images only).
    executor_def=dg.in_process_executor,
)


def console_log_level(level: str) -> dict[str, object]:
    """Run config for the level the run's console (its process's stderr) logs at.

    The full event log is in the instance and the UI whatever this says; at Dagster's default
    (DEBUG) every one of a run's ~45 events is also formatted and written to stderr."""
    return {"loggers": {"console": {"config": {"log_level": level}}}}
