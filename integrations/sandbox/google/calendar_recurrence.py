"""Recurring events: the RFC 5545 lines of ``Event.recurrence`` and their expansion.

A series repeats wall-clock time in the event's own zone (a weekly 10:00 Paris meeting stays at
10:00 across DST), so rules are expanded on naive local times and localized afterwards. Instance
ids are Google's: ``{seriesId}_{YYYYMMDDTHHMMSSZ}`` (original start in UTC) for timed series and
``{seriesId}_{YYYYMMDD}`` for all-day ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrule, rruleset, rrulestr

from integrations.sandbox.google.calendar_times import TimeError, When, zone

# Unbounded series are expanded this far past "now" when the query sets no timeMax: Google
# never returns an endless list, and two years covers what a CRM shows.
UNBOUNDED_HORIZON = timedelta(days=730)
MAX_INSTANCES = 5000  # per expansion: guards against rules like FREQ=MINUTELY without an end

_LINE = re.compile(r"(?P<name>[A-Za-z]+)(?P<params>(;[^:]*)?):(?P<value>.+)")
_UNTIL = re.compile(r"UNTIL=(?P<value>[0-9TZ]+)", re.IGNORECASE)
_INSTANCE_SUFFIX = re.compile(r"(?P<base>.+)_(?P<stamp>\d{8}(T\d{6}Z)?)")


class RecurrenceError(ValueError):
    """A recurrence Google answers with 400 "Invalid recurrence rule."."""


@dataclass(frozen=True)
class Series:
    """What expansion needs from a recurring (master) event."""

    start: When
    end: When
    zone_name: str  # the event's start.timeZone (Google requires one for timed series)
    lines: tuple[str, ...]

    @property
    def all_day(self) -> bool:
        return self.start.all_day

    def duration(self) -> timedelta:
        if self.all_day:
            assert self.start.day is not None and self.end.day is not None
            return self.end.day - self.start.day
        assert self.start.instant is not None and self.end.instant is not None
        return self.end.instant - self.start.instant


@dataclass(frozen=True)
class Occurrence:
    """One instance of a series: its original start (and end) before any modification."""

    start: When
    end: When

    def suffix(self) -> str:
        return instance_suffix(self.start)


def instance_suffix(start: When) -> str:
    if start.day is not None:
        return start.day.strftime("%Y%m%d")
    assert start.instant is not None
    return start.instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def split_instance_id(event_id: str) -> tuple[str, str] | None:
    """``(series id, suffix)`` when ``event_id`` has the shape of an instance id."""
    found = _INSTANCE_SUFFIX.fullmatch(event_id)
    if not found:
        return None
    return found.group("base"), found.group("stamp")


def _split_line(line: str) -> tuple[str, dict[str, str], str]:
    found = _LINE.fullmatch(line.strip())
    if not found:
        raise RecurrenceError(f"not a recurrence line: {line!r}")
    params: dict[str, str] = {}
    for part in found.group("params").split(";")[1:]:
        key, _, value = part.partition("=")
        params[key.upper()] = value
    return found.group("name").upper(), params, found.group("value")


def _parse_value(value: str, params: dict[str, str], series: Series) -> datetime | date:
    """An RDATE/EXDATE value as naive wall time in the series zone (or a date)."""
    value = value.strip()
    try:
        if params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        if value.endswith("Z"):
            moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            naive = datetime.strptime(value, "%Y%m%dT%H%M%S")
            moment = naive.replace(tzinfo=zone(params.get("TZID") or series.zone_name))
    except (ValueError, TimeError) as exc:
        raise RecurrenceError(f"invalid date value {value!r}") from exc
    return moment.astimezone(zone(series.zone_name)).replace(tzinfo=None)


def _rule(value: str, dtstart: datetime, series: Series) -> rrule:
    """One RRULE/EXRULE with UNTIL moved into the series' wall-clock time."""

    def local_until(found: re.Match[str]) -> str:
        raw = found.group("value").upper()
        if len(raw) == 8:
            # A date UNTIL includes that whole day (Google accepts it on timed series too).
            day = datetime.strptime(raw, "%Y%m%d")
            return "UNTIL=" + (
                day if series.all_day else day + timedelta(days=1, seconds=-1)
            ).strftime("%Y%m%dT%H%M%S")
        if raw.endswith("Z"):
            moment = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            local = moment.astimezone(zone(series.zone_name)).replace(tzinfo=None)
            return "UNTIL=" + local.strftime("%Y%m%dT%H%M%S")
        return "UNTIL=" + raw

    try:
        rewritten = _UNTIL.sub(local_until, value)
        parsed = rrulestr(rewritten, dtstart=dtstart, ignoretz=True)
    except (ValueError, TypeError, TimeError) as exc:
        raise RecurrenceError(f"invalid rule {value!r}") from exc
    if not isinstance(parsed, rrule):
        raise RecurrenceError(f"invalid rule {value!r}")
    return parsed


def _dtstart(series: Series) -> datetime:
    if series.start.day is not None:
        return datetime.combine(series.start.day, time(0))
    return series.start.local_naive(series.zone_name)


def _build(series: Series) -> tuple[rruleset, set[date]]:
    """The rule set, plus excluded days given as DATE values on a timed series."""
    dtstart = _dtstart(series)
    ruleset = rruleset()
    excluded_days: set[date] = set()
    has_rule = False
    for line in series.lines:
        name, params, value = _split_line(line)
        if name in ("RRULE", "EXRULE"):
            parsed = _rule(value, dtstart, series)
            if name == "RRULE":
                ruleset.rrule(parsed)
                has_rule = True
            else:
                ruleset.exrule(parsed)
        elif name in ("RDATE", "EXDATE"):
            for item in value.split(","):
                moment = _parse_value(item, params, series)
                if not isinstance(moment, datetime):
                    if name == "EXDATE" and not series.all_day:
                        excluded_days.add(moment)
                        continue
                    moment = datetime.combine(moment, time(0))
                if name == "RDATE":
                    ruleset.rdate(moment)
                else:
                    ruleset.exdate(moment)
        else:
            raise RecurrenceError(f"unsupported recurrence property {name}")
    if not has_rule:
        # Without an RRULE the series is DTSTART plus its RDATEs (RFC 5545).
        ruleset.rdate(dtstart)
    return ruleset, excluded_days


def validate_recurrence(series: Series) -> None:
    """Raise :class:`RecurrenceError` if Google would refuse the series' lines."""
    if not series.lines:
        raise RecurrenceError("empty recurrence")
    if not any(_split_line(line)[0] in ("RRULE", "RDATE") for line in series.lines):
        raise RecurrenceError("recurrence needs an RRULE or RDATE")
    _build(series)


def is_bounded(series: Series) -> bool:
    for line in series.lines:
        name, _, value = _split_line(line)
        if name == "RRULE" and not re.search(r"(COUNT|UNTIL)=", value, re.IGNORECASE):
            return False
    return True


def occurrences(
    series: Series,
    *,
    calendar_zone: str,
    time_min: datetime | None,
    time_max: datetime | None,
    now: datetime,
    limit: int = MAX_INSTANCES,
) -> list[Occurrence]:
    """Instances overlapping ``(time_min, time_max)``, in start order, with their original times.

    Overlap follows events.list: an instance is in when it ends after ``time_min`` and starts
    before ``time_max`` (both exclusive).
    """
    ruleset, excluded_days = _build(series)
    duration = series.duration()
    zone_name = calendar_zone if series.all_day else series.zone_name
    local_zone = zone(zone_name)
    horizon = time_max
    if horizon is None and not is_bounded(series):
        horizon = now + UNBOUNDED_HORIZON
    # Walk naive local time with a day of margin either side; exact filtering happens below.
    low = _dtstart(series)
    if time_min is not None:
        low = max(low, (time_min - duration).astimezone(local_zone).replace(tzinfo=None))
        low -= timedelta(days=1)
    high = None if horizon is None else horizon.astimezone(local_zone).replace(tzinfo=None)
    found: list[Occurrence] = []
    for naive in ruleset.xafter(low, inc=True):
        if high is not None and naive > high + timedelta(days=1):
            break
        if len(found) >= limit:
            break
        if series.all_day:
            start = When(None, naive.date(), series.start.time_zone)
            end = When(None, naive.date() + duration, series.end.time_zone)
        else:
            if naive.date() in excluded_days:
                continue
            instant = naive.replace(tzinfo=local_zone).astimezone(UTC)
            start = When(instant, None, series.start.time_zone)
            end = When(instant + duration, None, series.end.time_zone)
        begins = start.start_instant(calendar_zone)
        ends = end.start_instant(calendar_zone)
        if time_min is not None and ends <= time_min:
            continue
        if horizon is not None and begins >= horizon:
            if high is not None and naive > high:
                break
            continue
        found.append(Occurrence(start, end))
    return found


def occurrence_at(
    series: Series, suffix: str, *, calendar_zone: str, now: datetime
) -> Occurrence | None:
    """The instance whose id ends in ``suffix``, if the series has one there."""
    try:
        if "T" in suffix:
            moment = datetime.strptime(suffix, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        else:
            day = datetime.strptime(suffix, "%Y%m%d").date()
            moment = datetime.combine(day, time(0), tzinfo=zone(calendar_zone))
    except ValueError:
        return None
    nearby = occurrences(
        series,
        calendar_zone=calendar_zone,
        time_min=moment - timedelta(seconds=1),
        time_max=moment + timedelta(seconds=1),
        now=now,
    )
    return next((found for found in nearby if found.suffix() == suffix), None)
