"""A run's priority among its merchant's own queued runs."""

from __future__ import annotations

from enum import StrEnum


class Priority(StrEnum):
    # First come, first served among the merchant's queued runs.
    NORMAL = "normal"
    # Starts before the merchant's queued normal runs; never ahead of another merchant's share.
    HIGH = "high"


PRIORITIES = tuple(p.value for p in Priority)
