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
import time
from typing import Any

import dagster as dg
from celery.signals import worker_init

from .. import db
from .. import definitions as _definitions  # loaded here, once, before the fork
from ..config import Settings
from ..db.engine import PoolSize
from .celery_app import EXECUTE_RUN_TASK, RUN_QUEUE, make_celery
from .execution import execute_launched_run
from .pg_storage import release_connections
from .settings import WorkerSettings

log = logging.getLogger(__name__)

# A slot runs one run at a time: its threads (images, lease, progress) share a few app
# connections, each held for a short transaction. Between runs a slot holds none.
SLOT_APP_POOL = PoolSize(size=2, overflow=2)

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
            _per_process["database"] = db.shared_database(
                Settings.from_env().database_url, pool=SLOT_APP_POOL
            )
        return _per_process


@worker_init.connect
def _prepare_before_fork(**_: Any) -> None:
    initialize_pools()
    _load_what_runs_load()
    # Everything imported so far is kept out of the garbage collector's reach, so the children
    # do not copy the parent's pages just by collecting (copy-on-write stays shared).
    gc.freeze()


def _load_what_runs_load() -> None:
    """Load in the parent what a run loads on first use, so no child pays for it per fork."""
    from ..providers.settings import ProviderSettings

    # The definitions' repository and jobs (built lazily on a run's first look-up).
    repository = _definitions.defs.get_repository_def()
    for job in repository.get_all_jobs():
        job.get_job_snapshot()
    # The app database: its migrations are checked once here rather than in every child; the
    # pool is emptied so that no connection crosses the fork.
    database = db.shared_database(Settings.from_env().database_url, pool=SLOT_APP_POOL)
    database.engine.dispose()
    # The SDKs of the enabled providers (imported when a router is first built).
    providers = set(ProviderSettings.from_env().providers)
    if "replicate" in providers:
        from ..providers import replicate_provider  # noqa: F401
    if "google" in providers:
        from ..providers import google_provider  # noqa: F401
    from ..providers import preview  # noqa: F401


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
    wall, cpu = time.monotonic(), time.process_time()
    try:
        outcome = execute_launched_run(state["instance"], state["redis"], run_id)
    finally:
        # An idle slot holds no PostgreSQL connection: twenty of them would hold eighty of the
        # server's hundred (measured) and leave none for the slots that work.
        release_connections(state["instance"])
        state["database"].engine.dispose()
    log.info(
        "run %s: %s in %.2f s, %.2f CPU-s",
        run_id,
        outcome,
        time.monotonic() - wall,
        time.process_time() - cpu,
    )
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
