"""generation_facts and the report at scale: 10 000 synthetic runs of 50 generations.

Each step runs in its own process so that its peak memory (max RSS, which includes pyarrow's
allocations that tracemalloc cannot see) is its own. The synthetic analytics.json files are
written straight to the store's folder (compact JSON): building the history is set-up, not
measured.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RUNS = 10_000
GENERATIONS = 50


def write_history(root: Path, runs: int, generations: int) -> list[str]:
    """`runs` analytics.json files under root/prompt_history; returns their keys."""
    from bulkgen_pipeline.analytics.synthetic import SyntheticPlan, synthetic_history
    from bulkgen_pipeline.domain.schema import load_category_schema

    categories = load_category_schema().categories
    plans = [
        SyntheticPlan(
            category=categories[i % len(categories)],
            generation_count=generations,
            sampling="balanced" if i % 5 == 0 else "unique",
            use_model=i % 3 != 0,
            color_strategy=("cycling", "random", "weighted")[i % 3],
        )
        for i in range(50)
    ]
    keys = []
    for document in synthetic_history(runs, random.Random(2025), plans=plans):
        key = f"prompt_history/{document['preset_id']}/{document['job_id']}/analytics.json"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        keys.append(key)
    return keys


def _child(step: Callable[..., dict[str, Any]], args: tuple, queue) -> None:
    baseline("")  # imports are paid before the clock starts: they are the same for every step
    started, cpu = time.perf_counter(), time.process_time()
    result = step(*args)
    result["seconds"] = time.perf_counter() - started
    # CPU time too: on a shared machine the wall time says as much about the neighbours.
    result["cpu_seconds"] = time.process_time() - cpu
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(result)


def in_own_process(step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(step, args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def baseline(root: str) -> dict[str, Any]:
    """What the imports alone cost: the floor under every other step's memory."""
    import pandas  # noqa: F401
    import pyarrow.dataset  # noqa: F401
    import scipy.stats  # noqa: F401

    from bulkgen_pipeline.analytics import dataset, publish  # noqa: F401
    from bulkgen_pipeline.storage import LocalObjectStore  # noqa: F401

    return {}


def rebuild(root: str) -> dict[str, Any]:
    from bulkgen_pipeline.analytics import dataset
    from bulkgen_pipeline.storage import LocalObjectStore

    result = dataset.rebuild_facts(LocalObjectStore(root))
    return {"runs": result.runs, "rows": result.rows}


def report(root: str) -> dict[str, Any]:
    from bulkgen_pipeline.analytics import dataset
    from bulkgen_pipeline.analytics.publish import publish_report
    from bulkgen_pipeline.storage import LocalObjectStore

    store = LocalObjectStore(root)
    # As the randomization_report asset does: the Arrow table is let go once in pandas.
    published = publish_report(store, dataset.to_frame(dataset.refresh_snapshot(store).table))
    return {"runs": published.report.runs, "charts": len(published.charts)}


def add_run(root: str, key: str) -> dict[str, Any]:
    from bulkgen_pipeline.analytics import dataset
    from bulkgen_pipeline.storage import LocalObjectStore

    written = dataset.update_run(LocalObjectStore(root), key)
    return {"rows": written.rows}


def snapshot(root: str) -> dict[str, Any]:
    from bulkgen_pipeline.analytics import dataset
    from bulkgen_pipeline.storage import LocalObjectStore

    refreshed = dataset.refresh_snapshot(LocalObjectStore(root))
    return {"runs": refreshed.runs, "reread": refreshed.reread}


def run_analytics_benchmarks(runs: int = RUNS, generations: int = GENERATIONS) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bulkgen-bench-analytics-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        write_history(root, runs + 1, generations)
        extra = sorted(root.glob("prompt_history/*/*/analytics.json"))[-1]
        held_back = extra.read_bytes()
        extra.unlink()  # the run added afterwards
        made = time.perf_counter() - started
        extra_key = extra.relative_to(root).as_posix()

        floor = in_own_process(baseline, folder)
        built = in_own_process(rebuild, folder)
        reported = in_own_process(report, folder)
        extra.write_bytes(held_back)
        added = in_own_process(add_run, folder, extra_key)
        refreshed = in_own_process(snapshot, folder)
        reported_again = in_own_process(report, folder)

    def row(step: str, result: dict, note: str) -> dict:
        return {
            "step": step,
            "seconds": round(result["seconds"], 3),
            "cpu_seconds": round(result["cpu_seconds"], 3),
            "peak_rss_mb": round(result["peak_rss_mb"]),
            "note": note,
        }

    history = f"{runs:,} runs x {generations} generations"
    return [
        {
            "step": "write synthetic history (set-up)",
            "seconds": round(made, 1),
            "cpu_seconds": "-",
            "peak_rss_mb": "-",
            "note": history,
        },
        row("imports only (memory floor)", floor, "pandas, pyarrow, scipy, bulkgen"),
        row(
            "rebuild generation_facts",
            built,
            f"{built['rows']:,} rows: every analytics.json read, one file per run + snapshot",
        ),
        row("build report.html", reported, f"{reported['charts']} charts, from the snapshot"),
        row(
            "full rebuild: facts + report",
            {
                "seconds": built["seconds"] + reported["seconds"],
                "cpu_seconds": built["cpu_seconds"] + reported["cpu_seconds"],
                "peak_rss_mb": max(built["peak_rss_mb"], reported["peak_rss_mb"]),
            },
            "target < 120 s",
        ),
        row("add one run to generation_facts", added, f"{added['rows']} rows; target < 1 s"),
        row(
            "refresh the snapshot after it",
            refreshed,
            f"re-read {refreshed['reread']} run file of {refreshed['runs']:,}",
        ),
        row("rebuild report.html after it", reported_again, "every run, from the snapshot"),
    ]


if __name__ == "__main__":
    from benchmarks.table import print_table

    count = int(sys.argv[1]) if len(sys.argv) > 1 else RUNS
    print_table(
        f"Analytics: {count:,} synthetic runs of {GENERATIONS} generations",
        run_analytics_benchmarks(count),
    )
