"""CeleryRunLauncher: Dagster's run launcher that hands each run to a warm bulkgen worker.

Dagster's default launcher asks the code server to start a fresh Python for every run (~4.6
CPU-seconds to import Dagster and the code, one at a time). This one sends the run id to a
Celery queue; a `bulkgen worker` slot that loaded the code once executes it. Selected in
`deploy/dagster.yaml`:

    run_launcher:
      module: bulkgen_pipeline.workers.launcher
      class: CeleryRunLauncher
      config:
        broker_url: {env: BULKGEN_BROKER_URL}

- terminate: marks the run CANCELING; the worker executing it sees that within a second and
  interrupts the run the way Dagster's own run worker is interrupted (see worker.py).
- check_run_worker_health: the worker's heartbeat (liveness.py), so Dagster's run monitoring
  notices a worker that died.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import dagster as dg
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from .celery_app import EXECUTE_RUN_TASK, RUN_QUEUE, make_celery
from .liveness import DONE, RUNNING, read_heartbeat
from .settings import WorkerSettings


class CeleryRunLauncher(RunLauncher, ConfigurableClass):
    def __init__(
        self,
        broker_url: str,
        queue: str = RUN_QUEUE,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._broker_url = broker_url
        self.queue = queue
        self._inst_data = inst_data
        super().__init__()

    @cached_property
    def _celery(self) -> Any:
        return make_celery(self._broker_url)

    @cached_property
    def _redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self._broker_url, socket_timeout=5)

    @cached_property
    def _heartbeat_expires_s(self) -> int:
        # The workers' setting, read from the same environment file as theirs.
        return WorkerSettings.from_env().heartbeat_expires_seconds

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            "broker_url": dg.Field(dg.StringSource, description="Redis URL of the run queue"),
            "queue": dg.Field(str, is_required=False, default_value=RUN_QUEUE),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> CeleryRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        # The task id is the run id: one message per run, and a worker log line names it.
        self._celery.send_task(
            EXECUTE_RUN_TASK, args=[run.run_id], task_id=run.run_id, queue=self.queue
        )
        self._instance.report_engine_event(
            f"Queued for a bulkgen worker (queue '{self.queue}').", run, cls=self.__class__
        )

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        try:
            beat = read_heartbeat(self._redis, run.run_id)
        except Exception as exc:
            # The queue's Redis is unreachable: that says nothing about the worker. Failing the
            # run for it would end jobs that are still making images.
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, f"worker heartbeat unreadable ({type(exc).__name__})"
            )
        if beat is None:
            return CheckRunHealthResult(
                WorkerStatus.FAILED,
                f"no bulkgen worker has reported on this run for {self._heartbeat_expires_s} s",
            )
        where = f"pid {beat.get('pid')} on {beat.get('host')}"
        if beat.get("state") == RUNNING:
            return CheckRunHealthResult(WorkerStatus.RUNNING, where)
        if beat.get("state") == DONE:
            return CheckRunHealthResult(WorkerStatus.SUCCESS, where)
        return CheckRunHealthResult(WorkerStatus.UNKNOWN, where)
