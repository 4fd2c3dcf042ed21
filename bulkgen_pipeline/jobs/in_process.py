"""Running one queued bulk run now, in this process, recorded in the Dagster instance.

The CLI and the demo use this: the same asset job the sensor launches, so the run shows up in
the Dagster UI like any other. Failure and cancellation handling mirror the run-failure and
cancellation sensors, which do not see in-process runs unless a daemon happens to be running.

The run is recorded as a run of the `bulkgen` code location (the one `bulkgen dev` and the
workspace files load), not as a location-less in-process run: the UI re-executes a run through
its code location, and refuses ("Expected non-None value") a run that has none. The UI's
"Terminate" reaches the execution through `TerminationWatch` (termination.py).

Under jobs/, beside the bulk job it runs: it is Dagster code through and through (it uses
Dagster's private execution API), and the design keeps all of that in assets/, resources/,
sensors/, jobs/ and definitions.py. It does what a sensor's RunRequest and a run worker do
together, for one job, without a daemon; the CLI (`bulkgen run`, `make demo`) calls it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.api import create_execution_plan, execute_run
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._utils.interrupts import capture_interrupts
from filelock import FileLock

from .. import db
from ..assets.partitions import BULK_RUN_PARTITIONS, bulk_run_partitions
from ..config import Settings
from ..runs.control import find_owned_job
from ..runs.ending import end_run
from ..runs.status import job_summary_of
from ..sensors.failures import run_failure_message
from ..sensors.queue import run_tags
from .bulk import BULK_JOB_NAME, console_log_level
from .location import CODE_LOCATION_NAME, DEFINITIONS_MODULE
from .termination import TERMINATION_STATUSES, TerminationWatch

ProgressCallback = Callable[[dict[str, Any]], None]

_READY_MARKER = ".bulkgen_instance_ready"
_LOCAL_INSTANCE_YAML = """\
# Written by bulkgen for the embedded default: SQLite storage under this folder.
telemetry:
  enabled: false
# Launch a run the sensor queued within a second (Dagster checks the queue every 5 s otherwise).
run_queue:
  dequeue_interval_seconds: 1
# Each sensor in its own thread: the queue sensor is evaluated at the start of every daemon loop
# (5 s) instead of waiting behind the others, which take a second or more each under load.
sensors:
  use_threads: true
# Runs that set no log level of their own (analytics refreshes, runs launched from the UI) log
# at INFO, not Dagster's DEBUG: ~15 lines of step events per refresh on `bulkgen dev`'s
# console otherwise. The event log in the UI keeps every event whatever this says.
python_logs:
  python_log_level: INFO
"""
# What earlier versions wrote: a file still holding one of these is brought up to date; one
# that someone edited is left alone.
_EARLIER_LOCAL_INSTANCE_YAMLS = (
    """\
# Written by bulkgen for the embedded default: SQLite storage under this folder.
telemetry:
  enabled: false
# Launch a run the sensor queued within a second (Dagster checks the queue every 5 s otherwise).
run_queue:
  dequeue_interval_seconds: 1
# Each sensor in its own thread: the queue sensor is evaluated at the start of every daemon loop
# (5 s) instead of waiting behind the others, which take a second or more each under load.
sensors:
  use_threads: true
""",
)


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
    config = home / "dagster.yaml"
    if ready.exists():
        _bring_up_to_date(config)
        return home
    with FileLock(str(home / ".bulkgen_instance.lock")):
        if not ready.exists():
            if not config.exists():
                config.write_text(_LOCAL_INSTANCE_YAML)
            with dg.DagsterInstance.get() as instance:
                # Touch every storage, so each creates its tables now rather than in a run.
                instance.get_runs(limit=1)
                bulk_run_partitions.get_partition_keys(dynamic_partitions_store=instance)
                instance.all_instigator_state()
            ready.write_text("created by bulkgen; delete to re-run first-use set-up\n")
    return home


def _bring_up_to_date(config: Path) -> None:
    """Replace a dagster.yaml that an earlier bulkgen wrote, unedited, with today's."""
    try:
        text = config.read_text()
    except OSError:
        return
    if text in _EARLIER_LOCAL_INSTANCE_YAMLS:
        # Renamed into place: a process opening the instance meanwhile reads one whole file.
        replacement = config.with_name(f"{config.name}.{os.getpid()}.new")
        replacement.write_text(_LOCAL_INSTANCE_YAML)
        os.replace(replacement, config)


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
    """Materialize every asset of `run_id`'s partition; returns the job's status dict.

    A terminate from the Dagster UI stops the execution (on the main thread; elsewhere it only
    stops new images, see TerminationWatch) and ends the job `cancelled`."""
    instance.add_dynamic_partitions(BULK_RUN_PARTITIONS, [run_id])
    job = find_owned_job(database, None, run_id)  # NotFound, a LookupError, if there is none

    job_def = definitions.resolve_job_def(BULK_JOB_NAME)
    dagster_run = create_bulk_run(
        instance,
        job_def,
        run_id,
        tags=run_tags(job),
        # The full event log is in the instance (and the UI); the terminal gets warnings only.
        run_config=console_log_level(log_level),
    )
    stop = threading.Event()
    poller = None
    if on_progress is not None:
        poller = threading.Thread(
            target=_poll, args=(database, run_id, on_progress, stop, poll_seconds), daemon=True
        )
        poller.start()
    try:
        # capture_interrupts: the watch's interrupt (and a Ctrl-C) reaches Dagster as an
        # interrupted step, never as a KeyboardInterrupt between two of them.
        with (
            capture_interrupts(),
            TerminationWatch(instance, dagster_run.run_id, database, run_id, every=poll_seconds),
        ):
            result = execute_run(InMemoryJob(job_def), dagster_run, instance)
    finally:
        stop.set()
        if poller is not None:
            poller.join()
    ended = instance.get_run_by_id(dagster_run.run_id)
    # Terminated from the UI: cancelled, as the cancellation sensor ends a daemon-launched run
    # (it may see this one too: ending a job twice the same way changes nothing).
    if ended is not None and ended.status in TERMINATION_STATUSES:
        end_run(database, run_id, dagster_run_id=dagster_run.run_id, cancelled=True)
    elif not result.success:
        message = run_failure_message(instance, dagster_run.run_id, "run failed")
        end_run(database, run_id, dagster_run_id=dagster_run.run_id, reason=message)
    status = job_summary_of(database, run_id)
    if on_progress is not None:
        on_progress(status)
    return status


def bulk_job_origin() -> RemoteJobOrigin:
    """The bulk job in the `bulkgen` code location, as the UI and the daemon know it (the
    location's one definition, jobs/location.py, which the workspace files are tested against)."""
    location = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(executable_path=sys.executable, module_name=DEFINITIONS_MODULE),
        location_name=CODE_LOCATION_NAME,
    )
    return RemoteJobOrigin(
        RemoteRepositoryOrigin(location, SINGLETON_REPOSITORY_NAME), BULK_JOB_NAME
    )


def create_bulk_run(
    instance: dg.DagsterInstance,
    job_def: dg.JobDefinition,
    partition_key: str,
    *,
    tags: dict[str, str],
    run_config: dict[str, Any],
) -> dg.DagsterRun:
    """A not-yet-started run of `partition_key`, as `execute_in_process` would create it, but
    belonging to the bulk job's code location (see the module docstring)."""
    tags = {
        **job_def.run_tags,
        **tags,
        **job_def.get_tags_for_partition_key(partition_key, selected_asset_keys=None),
    }
    plan = create_execution_plan(
        InMemoryJob(job_def),
        run_config=run_config,
        instance_ref=instance.get_ref() if instance.is_persistent else None,
        tags=tags,
    )
    return instance.create_run_for_job(
        job_def=job_def,
        execution_plan=plan,
        run_config=run_config,
        tags=tags,
        remote_job_origin=bulk_job_origin(),
    )


def _poll(
    database: db.Database,
    run_id: str,
    on_progress: ProgressCallback,
    stop: threading.Event,
    every: float,
) -> None:
    while not stop.wait(every):
        on_progress(job_summary_of(database, run_id))
