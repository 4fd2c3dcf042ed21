"""ChildProcesses (what `bulkgen dev` starts its servers with): stopping reaches every process
below a child, including one that ignores SIGTERM and one whose parent has already gone."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from bulkgen_pipeline.cli.processes import KILL_AFTER_SECONDS, ChildProcesses

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")

# Starts a grandchild (which writes its pid to a file) and then either exits at once, leaving
# the grandchild an orphan, or stays; both ignore SIGTERM when told to.
PARENT = """
import signal, subprocess, sys, time
stubborn, leave = sys.argv[1] == "stubborn", sys.argv[2] == "leave"
if stubborn:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", sys.argv[3], sys.argv[1], sys.argv[4]])
if not leave:
    time.sleep(120)
"""
GRANDCHILD = """
import os, signal, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(sys.argv[2], "w").write(str(os.getpid()))
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start(children: ChildProcesses, tmp_path: Path, behaviour: str, parent: str) -> int:
    pid_file = tmp_path / f"{behaviour}-{parent}.pid"
    children.start(
        f"{behaviour}-{parent}",
        [sys.executable, "-c", PARENT, behaviour, parent, GRANDCHILD, str(pid_file)],
    )
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, "the grandchild did not start"
        time.sleep(0.05)
    return int(pid_file.read_text())


def test_stop_kills_what_ignores_sigterm_including_orphaned_grandchildren(tmp_path):
    children = ChildProcesses()
    orphan = _start(children, tmp_path, "stubborn", "leave")
    grandchild = _start(children, tmp_path, "stubborn", "stay")
    time.sleep(0.2)
    assert _running(orphan) and _running(grandchild)

    began = time.monotonic()
    children.stop(timeout=0.5)
    elapsed = time.monotonic() - began

    assert not _running(orphan) and not _running(grandchild)
    assert all(child.process.poll() is not None for child in children.children)
    # Terminated politely first, killed only after the grace period and the SIGTERM round.
    assert 0.5 <= elapsed < 0.5 + 2 * KILL_AFTER_SECONDS + 2
    stayed = next(child for child in children.children if child.name == "stubborn-stay")
    assert stayed.process.returncode == -signal.SIGKILL


def test_stop_does_not_wait_out_the_timeout_once_the_children_are_gone(tmp_path):
    children = ChildProcesses()
    grandchild = _start(children, tmp_path, "polite", "stay")

    began = time.monotonic()
    children.stop(timeout=60)

    # The child exits on SIGTERM without stopping its own child; that one is terminated with
    # the rest of the group right away, not after the 60 s meant for a slow shutdown.
    assert children.children[0].process.returncode == -signal.SIGTERM
    assert not _running(grandchild)
    assert time.monotonic() - began < KILL_AFTER_SECONDS
