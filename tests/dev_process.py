"""For tests that start a real `bulkgen dev`: wait on it while it lives, ask it over HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def http_status(url: str) -> int | None:
    """The status `url` answers with, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status
    except OSError:
        return None


def wait_while_running(
    probe: Callable[[], T], what: str, timeout: float, process: subprocess.Popen
) -> T:
    """`probe()`'s first truthy value; fails at once if `process` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, (
            f"bulkgen dev exited with {process.returncode} waiting for {what}"
        )
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
