"""bulkgen_analytics: refresh generation_facts and the randomization report, in one run."""

import dagster as dg

from ..assets.analytics import ANALYTICS_ASSETS

ANALYTICS_JOB_NAME = "bulkgen_analytics"

analytics_job = dg.define_asset_job(
    ANALYTICS_JOB_NAME,
    selection=dg.AssetSelection.assets(*ANALYTICS_ASSETS),
    description="generation_facts for the runs settled since the last refresh, then the report",
    # Two steps in a row: one process, so pandas and pyarrow are loaded once.
    executor_def=dg.in_process_executor,
)
