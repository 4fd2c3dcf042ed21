"""Executing one launched Dagster run inside a warm worker slot.

The same body Dagster's own run worker (`dagster api execute_run`) runs, minus the interpreter
start: the slot's process imported Dagster and the definitions before it was forked.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dagster as dg
from dagster._cli.api import _execute_run_command_body
from dagster._utils import send_interrupt
from dagster._utils.interrupts import capture_interrupts

from ..termination import termination_requested
from .liveness import RunHeartbeat

log = logging.getLogger(__name__)

CANCEL_POLL_S = 1.0
_STARTABLE = frozenset({dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING})


def execute_launched_run(instance: dg.DagsterInstance, redis_client: Any, run_id: str) -> str:
    """Execute the Dagster run `run_id` in this process; returns what happened, for the log."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return "unknown run"
    if run.status == dg.DagsterRunStatus.CANCELING:
        # Terminated while it waited for a slot: nothing started, so nothing to interrupt.
        instance.report_run_canceled(run, message="Terminated before a bulkgen worker started it.")
        return "cancelled before start"
    if run.status not in _STARTABLE:
        # Delivered twice, or already handled (force-terminated, failed by run monitoring).
        return f"skipped: the run is {run.status.value}"
    with (
        RunHeartbeat(redis_client, run_id),
        capture_interrupts(),
        _InterruptOnTerminate(instance, run_id),
    ):
        _execute_run_command_body(
            run_id, instance, write_stream_fn=lambda _event: None, set_exit_code_on_failure=False
        )
    ended = instance.get_run_by_id(run_id)
    return ended.status.value if ended is not None else "gone"


class _InterruptOnTerminate:
    """Interrupts this process's run (SIGINT, which `capture_interrupts` turns into an
    interrupted step) once an operator terminates it: the run then ends CANCELED, as under
    Dagster's own run worker."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str) -> None:
        self.instance, self.run_id = instance, run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._watch, name=f"bulkgen-terminate-{run_id[:8]}", daemon=True
        )

    def _watch(self) -> None:
        while not self._stop.wait(CANCEL_POLL_S):
            try:
                if termination_requested(self.instance, self.run_id):
                    send_interrupt()
                    return
            except Exception:  # a storage hiccup must not end the run; look again next time
                log.warning("could not check run %s for termination", self.run_id, exc_info=True)

    def __enter__(self) -> _InterruptOnTerminate:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
