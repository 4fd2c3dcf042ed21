"""The 'several queued jobs per Dagster run' candidate, measured on Dagster alone.

Dagster's own CPU per bulk job when each job is a run of its own partition (bulkgen's design)
against one run over a range of 5 or 20 partitions (`BackfillPolicy.single_run()`): the same
five assets and four checks as the bulk job, dynamic partitions, the in-process executor,
PostgreSQL storage on the pooled storage class of deploy/dagster.yaml, the console at INFO. The
assets do no bulkgen work, so the numbers are what grouping could save at most; beside them,
a whole warm 5-image bulk run in one process (Dagster and bulkgen's own work), for scale.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import dagster as dg  # noqa: E402

from benchmarks.postgres import fresh_database  # noqa: E402
from benchmarks.proc_stats import cpu_of_command  # noqa: E402

JOBS = 40
GROUP_SIZES = (1, 5, 20)
CHECKS = {
    "resolved_prompts": ["unique", "grammar"],
    "generated_images": ["sizes"],
    "bulk_zip": ["zip"],
}


def _definitions():
    partitions = dg.DynamicPartitionsDefinition(name="bulk_runs")

    def make(name: str, deps: list[str]):
        checks = CHECKS.get(name, [])

        @dg.asset(
            name=name,
            deps=deps,
            partitions_def=partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
            check_specs=[dg.AssetCheckSpec(c, asset=name) for c in checks],
        )
        def _asset(context):  # noqa: ANN001 (Dagster reads string annotations badly here)
            jobs = context.partition_keys  # one key, or the run's whole range
            return dg.MaterializeResult(
                metadata={"jobs": len(jobs)},
                check_results=[dg.AssetCheckResult(check_name=c, passed=True) for c in checks],
            )

        return _asset

    assets = [
        make("resolved_prompts", []),
        make("generated_images", ["resolved_prompts"]),
        make("bulk_zip", ["generated_images"]),
        make("run_analytics", ["generated_images"]),
        make("run_settlement", ["bulk_zip", "run_analytics"]),
    ]
    job = dg.define_asset_job(
        "bulk", partitions_def=partitions, executor_def=dg.in_process_executor
    )
    return dg.Definitions(assets=assets, jobs=[job]).resolve_job_def("bulk")


def run_grouping_benchmark(jobs: int = JOBS) -> list[dict[str, object]]:
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    database = fresh_database("bulkgen_grouping")
    with tempfile.TemporaryDirectory() as home:
        os.environ.update(
            DAGSTER_HOME=home,
            DAGSTER_PG_HOST="127.0.0.1",
            DAGSTER_PG_USER="postgres",
            DAGSTER_PG_PASSWORD="",
            DAGSTER_PG_DB=database,
            BULKGEN_BROKER_URL=os.environ.get("BULKGEN_BROKER_URL", "redis://127.0.0.1:6379/13"),
        )
        (Path(home) / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
        job = _definitions()
        quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
        made = [0]
        with dg.DagsterInstance.get() as instance:

            def run_jobs(count: int, size: int) -> None:
                keys = [f"job-{made[0] + i:06d}" for i in range(count)]
                made[0] += count
                instance.add_dynamic_partitions("bulk_runs", keys)
                for start in range(0, count, size):
                    chunk = keys[start : start + size]
                    tags = {
                        ASSET_PARTITION_RANGE_START_TAG: chunk[0],
                        ASSET_PARTITION_RANGE_END_TAG: chunk[-1],
                    }
                    result = job.execute_in_process(instance=instance, tags=tags, run_config=quiet)
                    materialized = [
                        e
                        for e in result.all_events
                        if e.event_type_value == "ASSET_MATERIALIZATION"
                    ]
                    # One materialization per asset and job: every job is in the UI.
                    assert result.success and len(materialized) == 5 * len(chunk)

            for size in GROUP_SIZES:
                run_jobs(2 * size, size)  # warm
            rows = []
            for size in GROUP_SIZES:
                cpu, postgres = time.process_time(), cpu_of_command("postgres")
                run_jobs(jobs, size)
                rows.append(
                    {
                        "jobs per Dagster run": size,
                        "Dagster CPU s / job": (time.process_time() - cpu) / jobs,
                        "PostgreSQL s / job": (cpu_of_command("postgres") - postgres) / jobs,
                    }
                )
    return rows


if __name__ == "__main__":
    from benchmarks.table import print_table

    print_table(
        "Grouping jobs into Dagster runs: Dagster's own cost per job", run_grouping_benchmark()
    )
