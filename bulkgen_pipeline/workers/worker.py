"""`bulkgen worker`: the Celery worker whose prefork slots execute Dagster runs.

Importing this module loads Dagster and the bulkgen definitions, in the parent, before Celery
forks its slots: each child starts warm and executes one run at a time on the main thread, as
Dagster's own run worker does (so terminate's interrupt works). The parent also makes the Dagster
instance, the database and the router a run uses, then empties their pools: each child opens
its own connections after the fork.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from typing import Any

import dagster as dg
from celery.signals import worker_process_init

from .. import db
from .. import definitions as _definitions  # loaded here, once, before the fork
from ..config import Settings
from ..db.engine import PoolSize
from .celery_app import EXECUTE_RUN_TASK, RUN_QUEUE, make_celery
from .execution import execute_launched_run
from .pg_storage import check_connections, release_connections, resize_pool
from .settings import WorkerSettings
from .warm import import_what_runs_import_on_first_use

log = logging.getLogger(__name__)

# A slot runs one run at a time: its threads (images, lease, progress) share two app and two
# Dagster connections, each held for a short transaction; between runs it keeps one of each
# (the overflow ones close when returned). Twenty busy slots then need at most 80 of
# PostgreSQL's connections (100 by default), twenty idle ones 40: with a bigger pool a
# 30-merchant burst ran out of them.
SLOT_APP_POOL = PoolSize(size=1, overflow=1)
SLOT_DAGSTER_POOL = PoolSize(size=1, overflow=1)

settings = WorkerSettings.from_env()
app = make_celery(settings.broker_url)

_per_process: dict[str, Any] = {}


def prepare_before_fork() -> None:
    """Everything a run needs that can be made once: made here, in the parent, so that every
    slot starts with it (profiled: a fresh slot's first run spent a third of its CPU on it).

    Called by `main` before Celery starts, so that a worker that cannot reach its database or
    read its instance fails at once, loudly, instead of taking runs it cannot execute."""
    import redis
    from sqlalchemy.orm import configure_mappers

    from ..domain.prompt_templates import load_prompt_templates
    from ..domain.schema import load_category_schema
    from ..resources.images import ImageGenerationResource

    instance = dg.DagsterInstance.get()
    resize_pool(instance, SLOT_DAGSTER_POOL)
    instance.event_log_storage.initialize_concurrency_limit_to_default(_definitions.IMAGES_POOL)
    instance.get_runs(limit=1)  # and the storage's schema probes answered once
    database = db.shared_database(Settings.from_env().database_url, pool=SLOT_APP_POOL)
    configure_mappers()
    # The definitions' repository and jobs (built lazily on a run's first look-up).
    for job in _definitions.defs.get_repository_def().get_all_jobs():
        job.get_job_snapshot()
    # The router (every provider's SDK client): one per process, shared by its runs.
    ImageGenerationResource().get_router()
    load_prompt_templates(schema=load_category_schema())
    import_what_runs_import_on_first_use()
    _per_process.update(
        instance=instance,
        database=database,
        redis=redis.Redis.from_url(settings.broker_url, socket_timeout=5),
    )
    # No connection crosses the fork: each slot opens its own (Redis' client does so itself).
    release_connections(instance)
    database.engine.dispose()
    # Everything made so far is kept out of the garbage collector's reach, so the children do
    # not copy the parent's pages just by collecting (copy-on-write stays shared).
    gc.freeze()


# Slots yield some CPU to the processes merchants and operators wait on (API, daemon, code
# server) when the machine is busy. Measured on a 100-merchant burst: at 5, 80 s and status p99
# 638 ms; at 19 worse on both (111 s, 866 ms): runs took longer, so merchants polled longer,
# and the API then had more to answer.
SLOT_NICENESS = 5


@worker_process_init.connect
def _lower_priority(**_: Any) -> None:
    os.nice(SLOT_NICENESS)


@app.task(name=EXECUTE_RUN_TASK)
def execute_dagster_run(run_id: str) -> str:
    state = _per_process
    wall, cpu = time.monotonic(), time.process_time()
    # The connections kept from the last run are reused: a new PostgreSQL backend per run and
    # database cost PostgreSQL ~0.08 CPU-s per run (measured). The app's pool pings them itself.
    check_connections(state["instance"])
    outcome = execute_launched_run(
        state["instance"],
        state["redis"],
        run_id,
        heartbeat_expires_s=settings.heartbeat_expires_seconds,
    )
    log.info(
        "run %s: %s in %.2f s, %.2f CPU-s",
        run_id,
        outcome,
        time.monotonic() - wall,
        time.process_time() - cpu,
    )
    return outcome


def main(concurrency: int | None = None, loglevel: str = "INFO") -> None:
    prepare_before_fork()
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
