"""Calendar events as Graph sees them: time zones, recurrence patterns, occurrences, JSON.

Events keep their Graph-shaped writable fields; series expand with dateutil's rrule in the
series' own time zone (so daylight saving moves UTC times the way Exchange does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

# The Windows time zone names Graph uses, for the zones the sandbox's users live in.
WINDOWS_ZONES = {
    "UTC": "UTC",
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "Central European Standard Time": "Europe/Warsaw",
    "E. Europe Standard Time": "Europe/Chisinau",
    "FLE Standard Time": "Europe/Kiev",
    "Eastern Standard Time": "America/New_York",
    "Central Standard Time": "America/Chicago",
    "Mountain Standard Time": "America/Denver",
    "Pacific Standard Time": "America/Los_Angeles",
    "US Mountain Standard Time": "America/Phoenix",
    "Tokyo Standard Time": "Asia/Tokyo",
    "India Standard Time": "Asia/Kolkata",
    "China Standard Time": "Asia/Shanghai",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Singapore Standard Time": "Asia/Singapore",
    "E. South America Standard Time": "America/Sao_Paulo",
}
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RR_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_BYDAY = re.compile(r"^([+-]?\d)?(MO|TU|WE|TH|FR|SA|SU)$")


class EventDataError(ValueError):
    pass


def zone_of(name: str | None) -> ZoneInfo:
    name = name or "UTC"
    try:
        return ZoneInfo(WINDOWS_ZONES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise EventDataError(
            f"A valid TimeZone value must be specified. The following TimeZone "
            f"value is not supported: '{name}'."
        ) from exc


def parse_datetime_tz(value: Any) -> datetime:
    """An aware datetime from Graph's ``{"dateTime": ..., "timeZone": ...}``."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise EventDataError("dateTimeTimeZone needs dateTime and timeZone.")
    text = str(value["dateTime"])
    moment = datetime.fromisoformat(text[:26].rstrip("Z"))
    return moment.replace(tzinfo=zone_of(value.get("timeZone")))


def graph_dt(moment: datetime, zone_name: str) -> dict[str, str]:
    local = moment.astimezone(zone_of(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def floating_dt(day: date, zone_name: str) -> dict[str, str]:
    return {"dateTime": f"{day.isoformat()}T00:00:00.0000000", "timeZone": zone_name}


# -- recurrence ------------------------------------------------------------------------------


def pattern_from_rrule(text: str, start: datetime, zone_name: str) -> dict[str, Any]:
    """Graph's recurrence (pattern + range) for an iCalendar RRULE line."""
    parts = dict(p.split("=", 1) for p in text.removeprefix("RRULE:").split(";") if "=" in p)
    freq = parts.get("FREQ", "WEEKLY")
    interval = int(parts.get("INTERVAL", "1"))
    bydays = [_BYDAY.match(d) for d in parts.get("BYDAY", "").split(",") if d]
    days = [_DAYS[_RR_DAYS.index(m.group(2))] for m in bydays if m]
    ordinal = next((int(m.group(1)) for m in bydays if m and m.group(1)), None)
    pattern: dict[str, Any] = {
        "type": "daily",
        "interval": interval,
        "month": 0,
        "dayOfMonth": 0,
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    if freq == "WEEKLY":
        pattern.update(type="weekly", daysOfWeek=days or [_DAYS[start.weekday()]])
    elif freq in ("MONTHLY", "YEARLY"):
        yearly = freq == "YEARLY"
        if ordinal is not None and days:
            index = {v: k for k, v in _INDEXES.items()}.get(ordinal, "first")
            pattern.update(
                type="relativeYearly" if yearly else "relativeMonthly", daysOfWeek=days, index=index
            )
        else:
            pattern.update(
                type="absoluteYearly" if yearly else "absoluteMonthly",
                dayOfMonth=int(parts.get("BYMONTHDAY", start.day)),
            )
        if yearly:
            pattern["month"] = int(parts.get("BYMONTH", start.month))
    start_date = start.date().isoformat()
    if "COUNT" in parts:
        range_: dict[str, Any] = {"type": "numbered", "numberOfOccurrences": int(parts["COUNT"])}
    elif "UNTIL" in parts:
        until = parts["UNTIL"]
        range_ = {"type": "endDate", "endDate": f"{until[:4]}-{until[4:6]}-{until[6:8]}"}
    else:
        range_ = {"type": "noEnd"}
    range_.update(startDate=start_date, recurrenceTimeZone=zone_name)
    range_.setdefault("endDate", "0001-01-01")
    range_.setdefault("numberOfOccurrences", 0)
    return {"pattern": pattern, "range": range_}


def _rule(recurrence: dict[str, Any], dtstart: datetime) -> rrule.rrule:
    pattern, range_ = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type")
    interval = int(pattern.get("interval") or 1)
    weekdays = [
        rrule.weekdays[_DAYS.index(d.lower())]
        for d in pattern.get("daysOfWeek") or []
        if d.lower() in _DAYS
    ]
    index = _INDEXES.get(str(pattern.get("index") or "first"), 1)
    options: dict[str, Any] = {"dtstart": dtstart, "interval": interval}
    if kind == "daily":
        freq = rrule.DAILY
    elif kind == "weekly":
        freq = rrule.WEEKLY
        options["byweekday"] = weekdays or [dtstart.weekday()]
        first = str(pattern.get("firstDayOfWeek") or "sunday").lower()
        options["wkst"] = _DAYS.index(first) if first in _DAYS else 6
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        freq = rrule.MONTHLY if kind == "absoluteMonthly" else rrule.YEARLY
        options["bymonthday"] = int(pattern.get("dayOfMonth") or dtstart.day)
    elif kind in ("relativeMonthly", "relativeYearly"):
        freq = rrule.MONTHLY if kind == "relativeMonthly" else rrule.YEARLY
        options["byweekday"] = [w(index) for w in weekdays] or [
            rrule.weekdays[dtstart.weekday()](index)
        ]
    else:
        raise EventDataError(f"Unsupported recurrence pattern type '{kind}'.")
    if kind in ("absoluteYearly", "relativeYearly"):
        options["bymonth"] = int(pattern.get("month") or dtstart.month)
    if range_.get("type") == "numbered":
        options["count"] = int(range_.get("numberOfOccurrences") or 1)
    elif range_.get("type") == "endDate":
        options["until"] = datetime.combine(date.fromisoformat(range_["endDate"]), time(23, 59, 59))
    return rrule.rrule(freq, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Instance:
    """One occurrence in a window: original start (its identity), actual start/end, overrides."""

    original_start: datetime  # aware UTC
    start: datetime
    end: datetime
    overrides: dict[str, Any]
    cancelled: bool


def event_bounds(data: dict[str, Any]) -> tuple[datetime, datetime]:
    """(start, end) aware; all-day events are floating days, read in UTC."""
    start, end = parse_datetime_tz(data["start"]), parse_datetime_tz(data["end"])
    if data.get("isAllDay"):
        return (
            datetime.combine(start.date(), time(), UTC),
            datetime.combine(end.date(), time(), UTC),
        )
    return start, end


def original_key(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(
    data: dict[str, Any],
    cancelled: list[str],
    overrides: dict[str, dict[str, Any]],
    window_start: datetime,
    window_end: datetime,
) -> list[Instance]:
    """Occurrences of a series overlapping [window_start, window_end), cancelled ones marked."""
    start, end = event_bounds(data)
    duration = end - start
    zone = UTC if data.get("isAllDay") else start.tzinfo
    local_start = start.astimezone(zone).replace(tzinfo=None)
    rule = _rule(data["recurrence"], local_start)
    lower = (window_start - duration - timedelta(days=1)).astimezone(zone).replace(tzinfo=None)
    upper = window_end.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found: list[Instance] = []
    for local in rule.between(lower, upper, inc=True):
        original = local.replace(tzinfo=zone).astimezone(UTC)
        key = original_key(original)
        override = overrides.get(key, {})
        if override.get("start"):
            begin, finish = event_bounds({**data, **override})
        else:
            begin, finish = original, original + duration
        if begin < window_end and finish > window_start:
            found.append(Instance(original, begin, finish, override, key in cancelled))
    return found


def occurs_in(data: dict[str, Any], window_start: datetime, window_end: datetime) -> bool:
    start, end = event_bounds(data)
    return start < window_end and end > window_start
