"""A schedule's times: a five-field cron expression read in an IANA time zone.

Plain Python (croniter and zoneinfo): the database stores the next time in UTC, this decides it.

Each local wall-clock time the expression names fires once: in the hour repeated when clocks go
back, the second pass is skipped (a daily `30 2 * * *` runs once that day, not twice), and a
time that does not exist when clocks go forward runs at the same offset after the change
(02:30 in the gap is 03:30 summer time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, croniter

from .errors import FieldProblem, InvalidInput

CRON_MAX_LENGTH = 200
TIMEZONE_MAX_LENGTH = 64
CRON_RULE = "five fields: minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'"
# Shown as the next times of a schedule.
NEXT_TIMES_SHOWN = 5

# What the API's schema states (every value it matches is taken): numbers in each field's
# range, ranges, steps of 1-99 and lists. The server takes more (month and day names, `L`).
_STEP = r"(?:/[1-9][0-9]?)"


def _field(number: str) -> str:
    item = rf"(?:{number})(?:-(?:{number}))?{_STEP}?"
    return rf"(?:\*{_STEP}?|{item}(?:,{item}){{0,3}})"


CRON_PATTERN = (
    "^"
    + " ".join(
        _field(number)
        for number in (
            r"[0-5]?[0-9]",  # minute
            r"[01]?[0-9]|2[0-3]",  # hour
            r"0?[1-9]|[12][0-9]|3[01]",  # day of month
            r"0?[1-9]|1[0-2]",  # month
            r"0?[0-7]",  # day of week (0 and 7: Sunday)
        )
    )
    + "$"
)


@lru_cache(maxsize=1)
def timezones() -> tuple[str, ...]:
    """Every IANA time zone name this machine knows, sorted ("localtime" left out: it means
    the server's own zone)."""
    return tuple(sorted(available_timezones() - {"localtime"}))


def normal_cron(value: str) -> str:
    """The expression with its fields separated by one space; InvalidInput naming `cron`."""
    fields = value.split() if isinstance(value, str) else []
    text = " ".join(fields)
    if len(fields) != 5 or len(value) > CRON_MAX_LENGTH or not croniter.is_valid(text):
        shown = value if isinstance(value, str) and len(value) <= 60 else "the value given"
        problem = f"{shown!r} is not a cron expression: {CRON_RULE}"
        raise InvalidInput([FieldProblem("cron", problem)])
    return text


def zone(name: str) -> ZoneInfo:
    """The named IANA time zone; InvalidInput naming `timezone` for any other text."""
    if not isinstance(name, str) or name not in timezones():
        raise InvalidInput(
            [FieldProblem("timezone", "must be an IANA time zone name, e.g. 'Europe/Berlin'")]
        )
    return ZoneInfo(name)


def next_time(cron: str, timezone: str, after: datetime) -> datetime:
    """The first time strictly after `after` that `cron` names in `timezone`, in UTC;
    InvalidInput naming `cron` when it names none (31 February)."""
    tz = zone(timezone)
    wall = after.astimezone(tz).replace(tzinfo=None)
    times = croniter(normal_cron(cron), wall)
    try:
        while True:
            # Naive wall-clock times only move forward: a repeated hour is passed once.
            local = times.get_next(datetime).replace(tzinfo=tz, fold=0)
            found = local.astimezone(UTC)
            if found > after:
                return found
    except CroniterBadDateError:
        raise InvalidInput([FieldProblem("cron", f"{cron!r} names no date that exists")]) from None


def next_times(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` times after `after`, in UTC."""
    found: list[datetime] = []
    for _ in range(count):
        after = next_time(cron, timezone, after)
        found.append(after)
    return found


def check_schedule(cron: str, timezone: str, now: datetime) -> tuple[str, datetime]:
    """The normalised expression and its first time after `now`; InvalidInput naming every
    field at fault (`cron`, `timezone`)."""
    problems: list[FieldProblem] = []
    for check, value in ((normal_cron, cron), (zone, timezone)):
        try:
            check(value)  # type: ignore[operator]
        except InvalidInput as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidInput(problems)
    text = normal_cron(cron)
    return text, next_time(text, timezone, now)
