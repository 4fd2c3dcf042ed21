"""How long resolving 50 generations takes for the largest category (prompts included)."""

from __future__ import annotations

import statistics
import time

from bulkgen_pipeline.domain.presets import parse_preset
from bulkgen_pipeline.domain.resolution import resolve_preset
from bulkgen_pipeline.domain.schema import load_category_schema


def run_resolution_benchmarks(repeats: int = 30) -> list[dict]:
    schema = load_category_schema()
    largest = max(
        schema.categories, key=lambda c: sum(len(v) for v in schema.attributes(c).values())
    )
    rows = []
    for sampling in ("unique", "balanced"):
        preset = parse_preset(
            {
                "name": "bench",
                "category": largest,
                "config": {
                    "use_model": True,
                    "generation_count": 50,
                    "sampling": sampling,
                    "color_palette": ["#FF0000", "#00FF00", "#0000FF"],
                },
            },
            schema,
        )
        resolve_preset(preset, run_seed="warm-up", schema=schema)
        timings = []
        for i in range(repeats):
            started = time.perf_counter()
            result = resolve_preset(preset, run_seed=f"bench-{i}", schema=schema)
            timings.append(time.perf_counter() - started)
        median = statistics.median(timings)
        rows.append(
            {
                "category": largest,
                "sampling": sampling,
                "space": f"{result.combination_space:.2e}",
                "generations": 50,
                "median ms / run": median * 1000,
                "p95 ms / run": sorted(timings)[int(0.95 * len(timings)) - 1] * 1000,
                "runs resolved / s": 1 / median,
                "generations / s": 50 / median,
            }
        )
    return rows


if __name__ == "__main__":
    from benchmarks.table import print_table

    print_table("Resolution: 50 generations, largest category", run_resolution_benchmarks())
