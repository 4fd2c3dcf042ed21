"""Executing one launched Dagster run inside a warm worker slot.

The same body Dagster's own run worker (`dagster api execute_run`) runs, minus the interpreter
start: the slot's process imported Dagster and the definitions before it was forked.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._cli.api import _execute_run_command_body
from dagster._utils.interrupts import capture_interrupts

from ..jobs.termination import TerminationWatch
from .liveness import HEARTBEAT_EXPIRES_S, RunHeartbeat

CANCEL_POLL_S = 1.0
_STARTABLE = frozenset({dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING})


def execute_launched_run(
    instance: dg.DagsterInstance,
    redis_client: Any,
    run_id: str,
    *,
    heartbeat_expires_s: int = HEARTBEAT_EXPIRES_S,
) -> str:
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
    # On terminate, SIGINT (which `capture_interrupts` turns into an interrupted step): the run
    # then ends CANCELED, as under Dagster's own run worker; the cancellation sensor ends the job.
    with (
        RunHeartbeat(redis_client, run_id, expires=heartbeat_expires_s),
        capture_interrupts(),
        TerminationWatch(instance, run_id, None, None, every=CANCEL_POLL_S),
    ):
        _execute_run_command_body(
            run_id, instance, write_stream_fn=lambda _event: None, set_exit_code_on_failure=False
        )
    ended = instance.get_run_by_id(run_id)
    return ended.status.value if ended is not None else "gone"
