"""A merchant's daily image limit: the operator's ceiling and the merchant's own, lower one.

A day is a UTC day: images started since midnight UTC count, and the count resets at the next
midnight UTC. Plain Python: the database counts, this decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_DAILY_IMAGES = 1_000_000


def day_start(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def next_reset(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


def effective_limit(ceiling: int | None, own: int | None) -> int | None:
    """The lower of the two that are set; None when neither is."""
    limits = [limit for limit in (ceiling, own) if limit is not None]
    return min(limits) if limits else None


@dataclass(frozen=True)
class DailyImages:
    ceiling: int | None  # the operator's
    own: int | None  # the merchant's
    used: int  # images started today
    resets_at: datetime

    @property
    def limit(self) -> int | None:
        return effective_limit(self.ceiling, self.own)

    def allows(self, images: int) -> bool:
        return self.limit is None or self.used + images <= self.limit


class DailyLimitReached(RuntimeError):
    """Starting these images would pass the merchant's daily image limit."""

    def __init__(self, day: DailyImages, wanted: int) -> None:
        self.day = day
        self.wanted = wanted
        super().__init__(
            f"daily image limit reached: {day.used} of {day.limit} images started today, "
            f"{wanted} more asked; it resets at {day.resets_at.isoformat()}"
        )
