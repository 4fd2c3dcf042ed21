"""CPU and memory of processes, read straight from Linux /proc, for the benchmarks.

Why /proc and not psutil: it is not a dependency, and the benchmarks only need a few numbers
that /proc gives exactly: CPU ticks per process (including reaped children) and the peak
resident set (VmHWM). Linux only; a process that exits while it is being read counts as gone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Indexes into the /proc/<pid>/stat fields that follow "(comm)": the list starts at field 3
# (state), so field N of proc(5) is at index N - 3.
_PPID = 4 - 3
_UTIME, _STIME, _CUTIME, _CSTIME = 14 - 3, 15 - 3, 16 - 3, 17 - 3


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if the process is gone.

    The name is cut at the *last* ")" because it may itself contain spaces and parentheses.
    """
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _pids() -> list[int]:
    """Every pid currently in /proc."""
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def process_tree(pid: int) -> list[int]:
    """`pid` and all its living descendants (e.g. a Celery worker and its prefork children).

    Built from the ppid of every process, since /proc has no list of a process's children that
    covers all its threads' children.
    """
    children: dict[int, list[int]] = {}
    for other in _pids():
        fields = _stat_fields(other)
        if fields is not None:
            children.setdefault(int(fields[_PPID]), []).append(other)
    if _stat_fields(pid) is None:
        return []
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _cpu_ticks(fields: list[str]) -> int:
    """utime + stime of the process plus cutime + cstime of the children it has reaped.

    Counting the reaped children's time makes a tree's total complete: a process that exited
    (e.g. a replaced pool child) lives on in exactly one living ancestor's cutime/cstime, while
    a living process's time is in no one's cutime yet, so nothing is counted twice.
    """
    return sum(int(fields[i]) for i in (_UTIME, _STIME, _CUTIME, _CSTIME))


def cpu_seconds(pids: Iterable[int]) -> float:
    """CPU-seconds (user + sys) used so far by these processes and the children they reaped.

    Pass a whole `process_tree`; processes that are gone contribute nothing.
    """
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            ticks += _cpu_ticks(fields)
    return ticks / CLK_TCK


def peak_rss_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of one process in MiB, 0.0 if it is gone or has none.

    VmHWM includes pages shared with other processes (a forked child's copy-on-write pages),
    so summing it over a process tree overstates the memory the tree really holds.
    """
    try:
        status = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB
    return 0.0  # kernel threads have no memory of their own


def cpu_of_command(name: str) -> float:
    """CPU-seconds of every process whose /proc/<pid>/comm is `name`, with reaped children.

    For a server whose processes come and go (PostgreSQL forks a backend per connection):
    sample before and after the workload and take the difference. A backend that exited in
    between is in the postmaster's cutime/cstime, so it still counts. `comm` is at most 15
    characters (e.g. "postgres").
    """
    ticks = 0
    for pid in _pids():
        try:
            comm = (PROC / str(pid) / "comm").read_text().rstrip("\n")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if comm == name and (fields := _stat_fields(pid)) is not None:
            ticks += _cpu_ticks(fields)
    return ticks / CLK_TCK
