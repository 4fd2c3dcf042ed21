"""The Celery application that carries Dagster runs from the run launcher to the run workers.

Both sides build it from the same broker URL: the launcher (in the daemon) only sends, the
workers (`bulkgen worker`) only receive. A message is just the Dagster run id; the run itself
(its job, config and tags) is read from the Dagster instance both sides share.
"""

from __future__ import annotations

from celery import Celery

RUN_QUEUE = "bulkgen-runs"
EXECUTE_RUN_TASK = "bulkgen.execute_dagster_run"


def make_celery(broker_url: str) -> Celery:
    app = Celery("bulkgen", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=RUN_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A slot takes the next run only when it is free: with prefetching, a busy child would
        # hold runs back while another slot sits idle.
        worker_prefetch_multiplier=1,
        # Acknowledged on receipt: a run is never executed twice. A worker that dies mid-run
        # is Dagster's run monitoring's to notice (its heartbeat stops, see liveness.py), and the
        # bulk job's lease watch's to resume.
        task_acks_late=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    return app
