"""Child processes that never outlive the command that started them.

`bulkgen dev` runs the API and `dagster dev`, and `dagster dev` runs the webserver, the daemon,
a code server and one worker per run. Each child is started in a process group of its own, so
that stopping it reaches every process below it, including those whose parent already exited:
first a polite signal to the child (it shuts its own children down), then, past a deadline,
SIGTERM and finally SIGKILL to whatever is left of its group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# What is still running this long after SIGTERM to the group is killed.
KILL_AFTER_SECONDS = 5.0


@dataclass(frozen=True)
class Child:
    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


class ChildProcesses:
    """Starts children, reports the first one that exits, and stops them all.

    POSIX only (process groups); `bulkgen dev` is a development command for Linux and macOS.
    """

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._lock = threading.Lock()

    def start(
        self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> Child:
        # start_new_session: its own process group, and out of the terminal's foreground group,
        # so a Ctrl-C reaches this process alone and the shutdown happens in one order.
        process = subprocess.Popen(list(command), env=env, start_new_session=True)
        child = Child(name, process)
        with self._lock:
            self.children.append(child)
        return child

    def exited(self) -> Child | None:
        """The first child that has exited, if any."""
        return next((c for c in self.children if c.process.poll() is not None), None)

    def stop(self, *, timeout: float, force: threading.Event | None = None) -> None:
        """Ask every child to stop (SIGTERM to the child itself, which shuts its own children
        down). Once every child has exited, or after `timeout` seconds, or at once when `force`
        is set, SIGTERM what remains of each process group, then SIGKILL it. Returns when no
        process of any group is left (or KILL_AFTER_SECONDS after SIGKILL, which nothing
        survives)."""
        for child in self.children:
            _signal_process(child.process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (force is not None and force.is_set()):
            if all(c.process.poll() is not None for c in self.children):
                break  # what is left of a group was left behind by its parent: no one stops it
            time.sleep(0.1)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for child in self.children:
                _signal_group(child.pid, sig)
            end = time.monotonic() + KILL_AFTER_SECONDS
            while time.monotonic() < end:
                for child in self.children:
                    child.process.poll()  # reap the group leader, so it does not count as alive
                if not self._alive():
                    return
                time.sleep(0.1)

    def _alive(self) -> list[Child]:
        """Children whose process group still has a member (the child or any descendant)."""
        return [c for c in self.children if _group_exists(c.pid)]


def _signal_process(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(pgid, sig)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _has_live_member(pgid)


def _has_live_member(pgid: int) -> bool:
    """A group whose members are all zombies waiting for a reaper is as good as gone. Where
    /proc is not there to tell, a group that answers signals counts as alive."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp.
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
