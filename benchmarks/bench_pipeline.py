"""A 50-image bulk run end to end with the preview provider, and the ZIP step's peak memory."""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.runs.packaging import GenerationOutcome, RunContext, write_zip
from bulkgen_pipeline.storage.local import LocalObjectStore

IMAGE_MB = 4


@dataclass
class EmbeddedRun:
    """One bulk run executed in this process on the embedded default, measured."""

    status: dict
    wall_s: float
    cpu_s: float  # this process's CPU-seconds for the run (all its threads)
    layout: RunLayout
    store: LocalObjectStore


@contextmanager
def embedded_run(config: dict) -> Iterator[EmbeddedRun]:
    """Queue a preset of `config` and execute its run in-process with the preview provider,
    on SQLite and a local folder that last until the block ends."""
    import dagster as dg

    from bulkgen_pipeline import db
    from bulkgen_pipeline.definitions import build_definitions
    from bulkgen_pipeline.jobs.in_process import execute_bulk_run
    from bulkgen_pipeline.resources.database import DatabaseResource
    from bulkgen_pipeline.resources.images import ImageGenerationResource
    from bulkgen_pipeline.resources.object_store import ObjectStoreResource
    from bulkgen_pipeline.runs.presets import create_preset
    from bulkgen_pipeline.runs.queueing import queue_preset_run

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        url = f"sqlite:///{root / 'bench.db'}"
        database = db.shared_database(url)
        with database.session() as session:
            user = db.create_user(session, "bench", 1000).user_id
        preset = create_preset(
            database, user, {"name": "bench", "category": "bags", "config": config}
        )
        run_id = queue_preset_run(database, user_id=user, preset_id=preset, claim=True)
        definitions = build_definitions(
            {
                "database": DatabaseResource(url=url),
                "object_store": ObjectStoreResource(storage_url=str(root / "storage")),
                "images": ImageGenerationResource(providers="local"),
            }
        )
        (root / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(root / "dagster")) as instance:
            started, cpu = time.perf_counter(), time.process_time()
            status = execute_bulk_run(
                run_id, definitions=definitions, database=database, instance=instance
            )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        with database.session() as session:
            layout = RunLayout.of(db.get_job(session, run_id))
        try:
            yield EmbeddedRun(status, wall, cpu, layout, LocalObjectStore(root / "storage"))
        finally:
            db.dispose_shared_databases()


def run_pipeline_benchmark(count: int = 50) -> dict:
    with embedded_run({"use_model": True, "generation_count": count}) as run:
        status, wall = run.status, run.wall_s
    return {
        "images": count,
        "provider": "local preview",
        "status": status["status"],
        "completed": status["completed_images"],
        "wall s": wall,
        "s / image": wall / count,
    }


def zip_peak_memory(count: int) -> dict:
    """Peak Python memory while zipping `count` stored images of 4 MB (incompressible bytes)."""
    with tempfile.TemporaryDirectory() as folder:
        store = LocalObjectStore(Path(folder))
        layout = RunLayout("user", "bags", f"zip-bench-{count}", "preset")
        for generation in range(1, count + 1):
            store.put_bytes(
                layout.image_key(generation), os.urandom(IMAGE_MB * 1024 * 1024), "image/png"
            )
            store.put_bytes(
                layout.metadata_key(generation),
                b'{"generation": %d}' % generation,
                "application/json",
            )
        outcomes = [GenerationOutcome(g, True, provider="local") for g in range(1, count + 1)]
        run = RunContext(layout, "bench", {})
        tracemalloc.start()
        started = time.perf_counter()
        report = write_zip(store, run, outcomes, {"bench": True})
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return {
        "images": count,
        "image MB": IMAGE_MB,
        "zip MB": report.size_bytes / 1e6,
        "peak MB (traced)": peak / 1e6,
        "seconds": elapsed,
    }


def run_zip_benchmarks() -> list[dict]:
    return [zip_peak_memory(10), zip_peak_memory(50)]


if __name__ == "__main__":
    from benchmarks.table import print_table

    print_table("Pipeline: one bulk run, SQLite + local folder", [run_pipeline_benchmark()])
    print_table(
        "ZIP step: peak memory does not grow with the number of images", run_zip_benchmarks()
    )
