"""Recurrence expansion: RRULE/EXDATE/RDATE lines as Google Calendar expands them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sandbox.google.calendar_recurrence import (
    RecurrenceError,
    Series,
    occurrence_at,
    occurrences,
    split_instance_id,
    validate_recurrence,
)
from integrations.sandbox.google.calendar_times import TimeError, parse_rfc3339, parse_when

NOW = datetime(2024, 3, 1, tzinfo=UTC)


def series(start: dict[str, str], end: dict[str, str], *lines: str) -> Series:
    begin = parse_when(start, "start")
    return Series(begin, parse_when(end, "end"), begin.time_zone or "UTC", lines)


def paris(local: str) -> dict[str, str]:
    return {"dateTime": local, "timeZone": "Europe/Paris"}


def suffixes(found: Series, **window: datetime | None) -> list[str]:
    return [
        o.suffix()
        for o in occurrences(
            found,
            calendar_zone="UTC",
            now=NOW,
            time_min=window.get("time_min"),
            time_max=window.get("time_max"),
        )
    ]


def test_weekly_rule_keeps_local_time_across_daylight_saving() -> None:
    weekly = series(
        paris("2024-03-25T10:00:00"), paris("2024-03-25T11:00:00"), "RRULE:FREQ=WEEKLY;COUNT=2"
    )
    assert suffixes(weekly) == ["20240325T090000Z", "20240401T080000Z"]


def test_exdate_in_utc_removes_the_matching_instance() -> None:
    weekly = series(
        paris("2024-03-04T10:00:00"),
        paris("2024-03-04T11:00:00"),
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "EXDATE:20240311T090000Z",
    )
    assert suffixes(weekly) == ["20240304T090000Z", "20240318T090000Z"]


def test_rdate_adds_an_extra_instance() -> None:
    weekly = series(
        paris("2024-03-04T10:00:00"),
        paris("2024-03-04T11:00:00"),
        "RRULE:FREQ=WEEKLY;COUNT=2",
        "RDATE;TZID=Europe/Paris:20240306T150000",
    )
    assert suffixes(weekly) == ["20240304T090000Z", "20240306T140000Z", "20240311T090000Z"]


def test_date_until_includes_that_whole_day() -> None:
    daily = series(
        paris("2024-03-04T10:00:00"),
        paris("2024-03-04T11:00:00"),
        "RRULE:FREQ=DAILY;UNTIL=20240306",
    )
    assert suffixes(daily) == ["20240304T090000Z", "20240305T090000Z", "20240306T090000Z"]


def test_all_day_series_uses_date_suffixes() -> None:
    yearly = series({"date": "2024-02-29"}, {"date": "2024-03-01"}, "RRULE:FREQ=DAILY;COUNT=2")
    assert suffixes(yearly) == ["20240229", "20240301"]


def test_window_keeps_instances_overlapping_it() -> None:
    daily = series(
        paris("2024-03-04T10:00:00"), paris("2024-03-04T11:00:00"), "RRULE:FREQ=DAILY;COUNT=5"
    )
    window = {
        "time_min": parse_rfc3339("2024-03-05T09:30:00Z"),
        "time_max": parse_rfc3339("2024-03-07T09:00:00Z"),
    }
    assert suffixes(daily, **window) == ["20240305T090000Z", "20240306T090000Z"]


def test_unbounded_series_stops_at_the_horizon() -> None:
    daily = series(paris("2024-03-04T10:00:00"), paris("2024-03-04T11:00:00"), "RRULE:FREQ=DAILY")
    found = suffixes(daily)
    assert 700 < len(found) < 800


def test_occurrence_at_finds_only_real_instances() -> None:
    weekly = series(
        paris("2024-03-04T10:00:00"), paris("2024-03-04T11:00:00"), "RRULE:FREQ=WEEKLY;COUNT=3"
    )
    assert occurrence_at(weekly, "20240311T090000Z", calendar_zone="UTC", now=NOW) is not None
    assert occurrence_at(weekly, "20240312T090000Z", calendar_zone="UTC", now=NOW) is None


def test_instance_ids_split_into_series_and_suffix() -> None:
    assert split_instance_id("abc123_20240311T090000Z") == ("abc123", "20240311T090000Z")
    assert split_instance_id("abc123_20240311") == ("abc123", "20240311")
    assert split_instance_id("abc123") is None


@pytest.mark.parametrize(
    "line",
    ["RRULE:FREQ=SOMETIMES", "RRULE:FREQ=DAILY;BYDAY=XX", "EXDATE:yesterday", "VEVENT:nothing"],
)
def test_invalid_lines_are_refused(line: str) -> None:
    found = series(
        paris("2024-03-04T10:00:00"), paris("2024-03-04T11:00:00"), "RRULE:FREQ=DAILY", line
    )
    with pytest.raises(RecurrenceError):
        validate_recurrence(found)


def test_floating_date_time_needs_a_time_zone() -> None:
    with pytest.raises(TimeError, match="Missing time zone definition"):
        parse_when({"dateTime": "2024-03-04T10:00:00"}, "start")
