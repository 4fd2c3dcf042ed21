"""A schedule's times: a cron expression read in its IANA time zone, stored in UTC; each local
time once across daylight-saving changes; a bad expression or zone named by its field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkgen_pipeline.domain.cron import (
    CRON_MAX_LENGTH,
    CRON_PATTERN,
    check_schedule,
    next_time,
    next_times,
    normal_cron,
    timezones,
)
from bulkgen_pipeline.domain.errors import InvalidInput


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_nine_in_berlin_is_eight_utc_in_winter_and_seven_in_summer():
    assert next_time("0 9 * * *", "Europe/Berlin", utc(2026, 1, 10, 12)) == utc(2026, 1, 11, 8)
    assert next_time("0 9 * * *", "Europe/Berlin", utc(2026, 7, 10, 12)) == utc(2026, 7, 11, 7)
    assert next_time("0 9 * * *", "America/New_York", utc(2026, 1, 10, 12)) == utc(2026, 1, 10, 14)
    # Strictly after: a time exactly now is not the next one.
    assert next_time("0 9 * * *", "UTC", utc(2026, 1, 10, 9)) == utc(2026, 1, 11, 9)


def test_each_local_time_fires_once_across_daylight_saving_changes():
    # Clocks go back on 25 October 2026 in Berlin: 02:30 happens twice, the schedule runs once.
    assert next_times("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12), 3) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 26, 1, 30),
        utc(2026, 10, 27, 1, 30),
    ]
    # Inside the repeated hour (02:15 the second time), the next half hour is 03:00, not 02:30
    # again in the past.
    assert next_time("*/30 * * * *", "Europe/Berlin", utc(2026, 10, 25, 1, 15)) == utc(
        2026, 10, 25, 2
    )
    # Clocks go forward on 29 March: 02:30 does not exist, it runs at 03:30 summer time.
    assert next_times("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12), 2) == [
        utc(2026, 3, 29, 1, 30),
        utc(2026, 3, 30, 0, 30),
    ]


@pytest.mark.parametrize(
    "cron",
    ["", "0 9 * *", "0 9 * * * *", "61 * * * *", "0 25 * * *", "@daily", "H * * * *", "x" * 200],
)
def test_a_bad_expression_is_refused_naming_cron(cron):
    with pytest.raises(InvalidInput) as refused:
        check_schedule(cron, "UTC", utc(2026, 1, 1))
    assert [p.field for p in refused.value.problems] == ["cron"]
    assert "five fields" in refused.value.problems[0].message


def test_an_expression_naming_no_real_date_and_an_unknown_zone_are_named():
    with pytest.raises(InvalidInput) as never:
        check_schedule("0 0 31 2 *", "UTC", utc(2026, 1, 1))
    assert str(never.value) == "cron: '0 0 31 2 *' names no date that exists"
    for zone in ("Mars/Olympus", "../../etc/passwd", "localtime", "", "utc\x00"):
        with pytest.raises(InvalidInput) as unknown:
            check_schedule("0 9 * * *", zone, utc(2026, 1, 1))
        assert [p.field for p in unknown.value.problems] == ["timezone"]
    with pytest.raises(InvalidInput) as both:
        check_schedule("nonsense", "Nowhere", utc(2026, 1, 1))
    assert [p.field for p in both.value.problems] == ["cron", "timezone"]


def test_an_expression_is_kept_with_single_spaces_and_names_are_taken():
    assert check_schedule("  0  9 * *   1-5 ", "UTC", utc(2026, 1, 9, 10))[0] == "0 9 * * 1-5"
    assert next_time("0 9 * * MON-FRI", "UTC", utc(2026, 1, 9, 10)) == utc(2026, 1, 12, 9)
    assert "Europe/Berlin" in timezones() and "localtime" not in timezones()


@settings(max_examples=200, deadline=None)
@given(st.from_regex(CRON_PATTERN, fullmatch=True))
def test_every_expression_the_api_schema_states_is_taken(cron):
    assert len(cron) <= CRON_MAX_LENGTH
    assert normal_cron(cron) == cron
