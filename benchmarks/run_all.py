"""`make bench`: every benchmark, results printed as tables."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_analytics import run_analytics_benchmarks  # noqa: E402
from benchmarks.bench_breaker import run_breaker_benchmarks  # noqa: E402
from benchmarks.bench_burst import run_burst_benchmarks, run_design_comparison  # noqa: E402
from benchmarks.bench_campaigns import run_campaign_benchmarks  # noqa: E402
from benchmarks.bench_cli import run_cli_benchmarks, run_whole_run_benchmark  # noqa: E402
from benchmarks.bench_grouping import run_grouping_benchmark  # noqa: E402
from benchmarks.bench_inspection import (  # noqa: E402
    run_cost_benchmark,
    run_threshold_measurements,
)
from benchmarks.bench_pipeline import run_pipeline_benchmark, run_zip_benchmarks  # noqa: E402
from benchmarks.bench_providers import (  # noqa: E402
    run_fault_benchmarks,
    run_provider_benchmarks,
)
from benchmarks.bench_queue import run_queue_benchmark  # noqa: E402
from benchmarks.bench_resolution import run_resolution_benchmarks  # noqa: E402
from benchmarks.table import print_table  # noqa: E402


def main() -> None:
    print_table("Resolution: 50 generations, largest category", run_resolution_benchmarks())
    print_table(
        "Pipeline: one 50-image bulk run, preview provider, SQLite + local folder",
        [run_pipeline_benchmark()],
    )
    print_table(
        "Looking at the pictures: the distances the thresholds sit between",
        run_threshold_measurements(),
    )
    print_table(
        "Looking at the pictures: hash and colour per image against a 50-image run's CPU",
        run_cost_benchmark(),
    )
    print_table(
        "ZIP step: peak memory for images of 4 MB (does not grow with the count)",
        run_zip_benchmarks(),
    )
    print_table(
        "Providers: 50 images through the router against fake servers", run_provider_benchmarks()
    )
    print_table(
        "Provider faults: 10 runs x 30 images per scenario (both passes), production retries",
        run_fault_benchmarks(),
    )
    print_table(
        "Breaker: simulated 30-image runs under 20 % 500 + 10 % 429 that rested a healthy provider",
        run_breaker_benchmarks(),
    )
    print_table("CLI: wall time of a fresh process (median of 7)", run_cli_benchmarks())
    print_table(
        "CLI: a whole 50-image bulkgen run on the embedded default", run_whole_run_benchmark()
    )
    print_table(
        "Queued to first image: POST /api/bulk-generation/start on a real bulkgen dev "
        "(5 runs of 2 images, one at a time)",
        run_queue_benchmark(),
    )
    print_table(
        "Campaigns: a 200-item campaign on PostgreSQL against 200 single starts, and the "
        "queue sensor's read behind it",
        run_campaign_benchmarks(),
    )
    burst = run_burst_benchmarks()
    print_table(
        "Production shape, idle: one merchant at a time, 5-image runs, provider at 2 s",
        burst["idle"],
    )
    print_table(
        "Production shape, bursts: N merchants x one 5-image run at once, provider at 2 s; "
        "baseline: 20-slot Celery worker, same calls, no credits/database/ZIP",
        burst["bursts"],
    )
    print_table("Production shape, fairness", burst["fairness"])
    print_table(
        "Production shape, designs: 10 merchants on the old dagster.yaml and on deploy/",
        run_design_comparison(),
    )
    print_table("Production shape, peak memory per process", burst["memory"])
    print_table(
        "Several jobs per Dagster run (the rejected candidate): Dagster's own cost per job",
        run_grouping_benchmark(),
    )
    print_table(
        "Analytics: generation_facts and report.html from 10 000 runs of 50 generations",
        run_analytics_benchmarks(),
    )


if __name__ == "__main__":
    main()
