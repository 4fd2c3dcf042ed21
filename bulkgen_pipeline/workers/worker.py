"""`bulkgen worker`: the Celery worker whose prefork slots execute Dagster runs.

Importing this module loads Dagster and the bulkgen definitions, in the parent, before Celery
forks its slots: each child starts warm and executes one run at a time on the main thread, as
Dagster's own run worker does (so terminate's interrupt works). Each child opens its own Dagster
instance and database pools after the fork.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import Any

import dagster as dg
from celery.signals import worker_init

from .. import definitions as _definitions  # noqa: F401  (loaded once, before the fork)
from .celery_app import EXECUTE_RUN_TASK, RUN_QUEUE, make_celery
from .execution import execute_launched_run
from .settings import WorkerSettings

log = logging.getLogger(__name__)

settings = WorkerSettings.from_env()
app = make_celery(settings.broker_url)

_per_process: dict[str, Any] = {}
_per_process_lock = threading.Lock()


def _process_state() -> dict[str, Any]:
    """This child's Dagster instance and Redis client, created on its first run."""
    with _per_process_lock:
        if not _per_process:
            import redis

            _per_process["instance"] = dg.DagsterInstance.get()
            _per_process["redis"] = redis.Redis.from_url(settings.broker_url, socket_timeout=5)
        return _per_process


@worker_init.connect
def _prepare_before_fork(**_: Any) -> None:
    initialize_pools()
    # Everything imported so far is kept out of the garbage collector's reach, so the children
    # do not copy the parent's pages just by collecting (copy-on-write stays shared).
    gc.freeze()


def initialize_pools() -> None:
    """Create the image pool's limit row before any slot takes a run.

    Dagster creates a pool's row on the first claim of a step in it; two runs claiming at once
    both insert it, and one of them fails (UniqueViolation, then "current transaction is
    aborted") — seen as soon as runs start together instead of one at a time."""
    from ..assets.images import images_pool

    with dg.DagsterInstance.get() as instance:
        instance.event_log_storage.initialize_concurrency_limit_to_default(images_pool())


@app.task(name=EXECUTE_RUN_TASK)
def execute_dagster_run(run_id: str) -> str:
    state = _process_state()
    outcome = execute_launched_run(state["instance"], state["redis"], run_id)
    log.info("run %s: %s", run_id, outcome)
    return outcome


def main(concurrency: int | None = None, loglevel: str = "INFO") -> None:
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency or settings.concurrency}",
            f"--queues={RUN_QUEUE}",
            "--optimization=fair",  # a run goes to a free slot, never behind a busy one
            # No worker-to-worker chatter: the run queue lives in Dagster, not in Celery.
            "--without-gossip",
            "--without-mingle",
            f"--loglevel={loglevel}",
        ]
    )
