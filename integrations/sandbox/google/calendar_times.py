"""Calendar v3 times: RFC 3339 parsing and rendering, and the ``EventDateTime`` shape.

Google Calendar is strict about offsets: ``timeMin``/``timeMax``/``updatedMin`` must carry one
("2024-01-01T00:00:00Z" or "+01:00"), and an event ``dateTime`` without an offset needs a
``timeZone`` next to it. Responses render ``dateTime`` with the offset of the zone the event (or
the ``timeZone`` request parameter, or the calendar) is in, seconds always present, UTC as "Z";
``created``/``updated`` are UTC with milliseconds ("2024-01-15T10:00:00.000Z").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?P<frac>\.\d+)?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class TimeError(ValueError):
    """A time value the API would reject; ``message`` is Google's wording for it."""


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises :class:`TimeError` for names Google would not know."""
    if not name or name.startswith("/") or ".." in name:
        raise TimeError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeError(f"unknown time zone {name!r}") from exc


def is_known_zone(name: str) -> bool:
    try:
        zone(name)
    except TimeError:
        return False
    return True


def parse_rfc3339(value: str, *, require_offset: bool = True) -> datetime:
    """Parse an RFC 3339 timestamp; without an offset it is naive (only if allowed)."""
    found = _RFC3339.fullmatch(value.strip())
    if not found:
        raise TimeError(f"not an RFC 3339 timestamp: {value!r}")
    offset = found.group("offset")
    if offset is None and require_offset:
        raise TimeError(f"RFC 3339 timestamp without offset: {value!r}")
    frac = (found.group("frac") or "")[1:7].ljust(6, "0") if found.group("frac") else "0"
    try:
        parsed = datetime.fromisoformat(f"{found.group('date')}T{found.group('time')}")
    except ValueError as exc:
        raise TimeError(f"invalid date or time: {value!r}") from exc
    parsed = parsed.replace(microsecond=int(frac))
    if offset is None:
        return parsed
    if offset in ("Z", "z"):
        return parsed.replace(tzinfo=UTC)
    sign = 1 if offset[0] == "+" else -1
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    return parsed.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


def parse_date(value: str) -> date:
    if not _DATE.fullmatch(value.strip()):
        raise TimeError(f"not a date: {value!r}")
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise TimeError(f"invalid date: {value!r}") from exc


def format_timestamp(moment: datetime) -> str:
    """``created``/``updated`` style: UTC with milliseconds and a Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def format_datetime(moment: datetime, zone_name: str) -> str:
    """An event ``dateTime`` rendered in ``zone_name``: seconds, numeric offset, UTC as Z."""
    local = moment.astimezone(zone(zone_name)).replace(microsecond=0)
    if local.utcoffset() == timedelta(0):
        return local.strftime("%Y-%m-%dT%H:%M:%S") + "Z"
    return local.isoformat()


def millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class When:
    """A parsed ``EventDateTime``: an instant (timed) or a calendar date (all-day)."""

    instant: datetime | None  # aware, for timed events
    day: date | None  # for all-day events
    time_zone: str | None  # the event's own zone, if it has one

    @property
    def all_day(self) -> bool:
        return self.day is not None

    def start_instant(self, calendar_zone: str) -> datetime:
        """Where this falls on the timeline; all-day dates start at midnight of the calendar."""
        if self.instant is not None:
            return self.instant
        assert self.day is not None
        return datetime.combine(self.day, time(0), tzinfo=zone(calendar_zone))

    def local_naive(self, fallback_zone: str) -> datetime:
        """Wall-clock time in the event's zone: what a recurrence rule repeats."""
        if self.day is not None:
            return datetime.combine(self.day, time(0))
        assert self.instant is not None
        return self.instant.astimezone(zone(self.time_zone or fallback_zone)).replace(tzinfo=None)


def parse_when(value: Any, field: str) -> When:
    """Parse an ``EventDateTime`` object; raise :class:`TimeError` with Google's message."""
    if not isinstance(value, dict):
        raise TimeError(f"Missing {field} time.")
    zone_name = value.get("timeZone")
    if zone_name is not None and (not isinstance(zone_name, str) or not is_known_zone(zone_name)):
        raise TimeError(f"Invalid time zone definition for {field} time.")
    raw_date, raw_datetime = value.get("date"), value.get("dateTime")
    if raw_date is not None and raw_datetime is not None:
        raise TimeError(f"Invalid {field} time.")
    if raw_date is not None:
        if not isinstance(raw_date, str):
            raise TimeError(f"Invalid {field} time.")
        return When(None, parse_date(raw_date), zone_name)
    if not isinstance(raw_datetime, str):
        raise TimeError(f"Missing {field} time.")
    parsed = parse_rfc3339(raw_datetime, require_offset=False)
    if parsed.tzinfo is None:
        # A floating dateTime is read in its timeZone; Google refuses it without one.
        if zone_name is None:
            raise TimeError(f"Missing time zone definition for {field} time.")
        parsed = parsed.replace(tzinfo=zone(zone_name))
    return When(parsed.replace(microsecond=0), None, zone_name)


def render_when(when: When, display_zone: str) -> dict[str, str]:
    """The ``EventDateTime`` JSON for ``when``, its dateTime shown in ``display_zone``."""
    if when.day is not None:
        return {"date": when.day.isoformat()}
    assert when.instant is not None
    rendered = {"dateTime": format_datetime(when.instant, display_zone)}
    if when.time_zone:
        rendered["timeZone"] = when.time_zone
    return rendered


def stored_when(when: When) -> dict[str, str]:
    """How an ``EventDateTime`` is kept: UTC instant (or date) plus the event's own zone."""
    if when.day is not None:
        stored = {"date": when.day.isoformat()}
    else:
        assert when.instant is not None
        stored = {"dateTime": format_datetime(when.instant, "UTC")}
    if when.time_zone:
        stored["timeZone"] = when.time_zone
    return stored
