"""An operator's "Terminate" in the Dagster UI reaching whatever executes the bulk run.

The UI only changes the Dagster run's status: CANCELING (then the run launcher interrupts the
run worker it started), or CANCELED at once ("force termination"). Two things listen:
- `generated_images` stops starting images as soon as it sees either status, so an interrupted
  run worker does not first work through its whole queue of images;
- `TerminationWatch`, for runs the CLI executes in its own process, which no run launcher can
  reach: it marks the job `cancelling` (no new image starts) and interrupts the execution the
  way Dagster's own run worker is interrupted (SIGINT, which Dagster turns into an interrupted
  step inside user code), so the run ends CANCELED without packaging or settling. The caller
  then ends the job `cancelled` with its reservation released, as the cancellation sensor does
  for daemon-launched runs. A production worker slot (workers/execution.py) uses it too, for
  any job, to interrupt only: the cancellation sensor ends the job.

Under jobs/: it is about a run of a Dagster job (the run's status in the instance, Dagster's
interrupt), read by the `generated_images` asset and by both executors (jobs/in_process.py,
workers/execution.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import dagster as dg
from dagster._utils import send_interrupt

from .. import db
from ..runs.ending import stop_requested

log = logging.getLogger(__name__)

TERMINATION_STATUSES = frozenset({dg.DagsterRunStatus.CANCELING, dg.DagsterRunStatus.CANCELED})


def termination_requested(instance: dg.DagsterInstance, dagster_run_id: str) -> bool:
    """The operator terminated this Dagster run (or it is gone): no new work may start."""
    run = instance.get_run_by_id(dagster_run_id)
    return run is None or run.status in TERMINATION_STATUSES


def termination_check(
    instance: dg.DagsterInstance, dagster_run_id: str, *, every: float = 1.0
) -> Callable[[], bool]:
    """`termination_requested` for one run, asked of the instance at most once per `every`
    seconds, and true for good once it is: each image asks before it starts, and a 50-image run
    at 8 at once asked the run storage 50 times within a few seconds. A terminate is then seen
    by the next image to start within `every` seconds, as the watch sees it."""
    lock = threading.Lock()
    asked_at: float | None = None
    answer = False

    def requested() -> bool:
        nonlocal asked_at, answer
        with lock:
            now = time.monotonic()
            if not answer and (asked_at is None or now - asked_at >= every):
                answer = termination_requested(instance, dagster_run_id)
                asked_at = now
            return answer

    return requested


class TerminationWatch:
    """Watches an in-process Dagster run for a terminate request until stopped (a context
    manager around the execution).

    Interrupting needs the execution on the main thread inside Dagster's `capture_interrupts`
    (SIGINT is then delivered as an interrupted step, never as a stray KeyboardInterrupt). Off
    the main thread it only marks the job `cancelling`: generation stops, and the run settles
    what it made and ends the job `cancelled`.
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        dagster_run_id: str,
        database: db.Database | None,
        run_id: str | None,
        *,
        every: float,
    ) -> None:
        """`database` and `run_id` name the bulk job to mark `cancelling`; without them the
        watch only interrupts (a worker slot's run of any job)."""
        self.instance, self.dagster_run_id = instance, dagster_run_id
        self.database, self.run_id, self.every = database, run_id, every
        self.interrupt = threading.current_thread() is threading.main_thread()
        self.seen = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"bulkgen-terminate-{dagster_run_id[:8]}", daemon=True
        )

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if not termination_requested(self.instance, self.dagster_run_id):
                    continue
                self._terminate()
            except Exception:  # a storage hiccup must not end the run; look again next time
                log.warning(
                    "could not check run %s for termination", self.dagster_run_id, exc_info=True
                )
                continue
            return

    def _terminate(self) -> None:
        self.seen.set()
        if self.database is not None and self.run_id is not None:
            self._report_for_the_cli()
        if self.interrupt and not self._stop.is_set():
            send_interrupt()

    def _report_for_the_cli(self) -> None:
        assert self.database is not None and self.run_id is not None
        stop_requested(self.database, self.run_id)
        run = self.instance.get_run_by_id(self.dagster_run_id)
        if run is not None:
            # The default run launcher logged that it could not reach this run: say who did.
            self.instance.report_engine_event(
                f"bulkgen (pid {os.getpid()}) executes this run in its own process and saw the "
                "termination request: no new image starts"
                + (", the run stops now." if self.interrupt else "; the run then settles."),
                run,
            )

    def __enter__(self) -> TerminationWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
