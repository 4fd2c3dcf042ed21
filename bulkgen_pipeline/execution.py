"""Running one queued bulk run now, in this process, recorded in the Dagster instance.

The CLI and the demo use this: the same asset job the sensor launches, so the run shows up in
the Dagster UI like any other. Failure handling mirrors the run-failure sensor, which does not
see in-process runs unless a daemon happens to be running.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from filelock import FileLock

from . import db
from .assets.partitions import bulk_run_partitions
from .config import Settings
from .jobs.bulk import BULK_JOB_NAME
from .sensors.failures import run_failure_message
from .sensors.queue import run_tags

ProgressCallback = Callable[[dict[str, Any]], None]

_READY_MARKER = ".bulkgen_instance_ready"
_LOCAL_INSTANCE_YAML = """\
# Written by bulkgen for the embedded default: SQLite storage under this folder.
telemetry:
  enabled: false
# Launch a run the sensor queued within a second (Dagster checks the queue every 5 s otherwise).
run_queue:
  dequeue_interval_seconds: 1
"""


def prepare_dagster_home(settings: Settings) -> Path:
    """Point DAGSTER_HOME at the instance folder; create the embedded instance on first use.

    Several `bulkgen` commands may start at once on a new BULKGEN_HOME. Dagster creates and
    stamps its SQLite storage when an instance is first opened, and two processes doing that
    together leave it broken for good ("UNIQUE constraint failed: alembic_version"), so the
    first opening happens here, once, under an inter-process file lock.
    """
    home = settings.dagster_home
    assert home is not None
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    ready = home / _READY_MARKER
    if ready.exists():
        return home
    with FileLock(str(home / ".bulkgen_instance.lock")):
        if not ready.exists():
            config = home / "dagster.yaml"
            if not config.exists():
                config.write_text(_LOCAL_INSTANCE_YAML)
            with dg.DagsterInstance.get() as instance:
                # Touch every storage, so each creates its tables now rather than in a run.
                instance.get_runs(limit=1)
                bulk_run_partitions.get_partition_keys(dynamic_partitions_store=instance)
                instance.all_instigator_state()
            ready.write_text("created by bulkgen; delete to re-run first-use set-up\n")
    return home


def execute_bulk_run(
    run_id: str,
    *,
    definitions: dg.Definitions,
    database: db.Database,
    instance: dg.DagsterInstance,
    on_progress: ProgressCallback | None = None,
    poll_seconds: float = 0.25,
    log_level: str = "WARNING",
) -> dict[str, Any]:
    """Materialize every asset of `run_id`'s partition; returns the job's status dict."""
    instance.add_dynamic_partitions("bulk_runs", [run_id])
    with database.session() as session:
        job = db.get_job(session, run_id)
    if job is None:
        raise LookupError(f"no bulk job '{run_id}'")

    stop = threading.Event()
    poller = None
    if on_progress is not None:
        poller = threading.Thread(
            target=_poll, args=(database, run_id, on_progress, stop, poll_seconds), daemon=True
        )
        poller.start()
    try:
        result = definitions.resolve_job_def(BULK_JOB_NAME).execute_in_process(
            partition_key=run_id,
            instance=instance,
            tags=run_tags(job),
            raise_on_error=False,
            # The full event log is in the instance (and the UI); the terminal gets warnings only.
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        )
    finally:
        stop.set()
        if poller is not None:
            poller.join()
    if not result.success:
        message = run_failure_message(instance, result.run_id, "run failed")
        with database.session() as session:
            db.fail_job(session, run_id, message, dagster_run_id=result.run_id)
    with database.session() as session:
        status = db.job_status_dict(session, run_id)
    if on_progress is not None:
        on_progress(status)
    return status


def _poll(
    database: db.Database,
    run_id: str,
    on_progress: ProgressCallback,
    stop: threading.Event,
    every: float,
) -> None:
    while not stop.wait(every):
        with database.session(readonly=True) as session:  # never queues behind the run's writes
            on_progress(db.job_status_dict(session, run_id))
