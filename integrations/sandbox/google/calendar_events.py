"""Event resources: validating client bodies into stored events, and instances of a series.

Insert, update and patch all end in :func:`build_event`: patch first merges the body into the
stored event (objects merged, arrays replaced, null clears), update replaces every writable
field. Read-only fields (kind, etag, created, updated, creator, organizer, htmlLink, hangoutLink)
are ignored in bodies, as Google ignores them.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.sandbox.google.calendar_conference import apply_conference
from integrations.sandbox.google.calendar_errors import CalendarError, bad_request, required
from integrations.sandbox.google.calendar_recurrence import (
    Occurrence,
    RecurrenceError,
    Series,
    validate_recurrence,
)
from integrations.sandbox.google.calendar_state import Calendar
from integrations.sandbox.google.calendar_times import TimeError, When, format_timestamp, parse_when
from integrations.sandbox.google.calendar_times import stored_when as store_when

# Writable fields copied from a body as they are (after a type check).
_PLAIN_FIELDS: dict[str, type | tuple[type, ...]] = {
    "summary": str,
    "description": str,
    "location": str,
    "colorId": str,
    "endTimeUnspecified": bool,
    "anyoneCanAddSelf": bool,
    "guestsCanInviteOthers": bool,
    "guestsCanModify": bool,
    "guestsCanSeeOtherGuests": bool,
    "privateCopy": bool,
    "locked": bool,
    "extendedProperties": dict,
    "source": dict,
    "gadget": dict,
    "attachments": list,
    "outOfOfficeProperties": dict,
    "focusTimeProperties": dict,
    "workingLocationProperties": dict,
    "birthdayProperties": dict,
}
_ENUMS = {
    "status": ("confirmed", "tentative", "cancelled"),
    "transparency": ("opaque", "transparent"),
    "visibility": ("default", "public", "private", "confidential"),
    "eventType": (
        "default",
        "outOfOffice",
        "focusTime",
        "workingLocation",
        "fromGmail",
        "birthday",
    ),
}
_RESPONSE_STATUSES = ("needsAction", "declined", "tentative", "accepted")
_REMINDER_METHODS = ("email", "popup")
MAX_REMINDER_OVERRIDES = 5
# Changing these is a "significant" change: Google bumps the iCalendar SEQUENCE.
_SEQUENCE_FIELDS = ("start", "end", "recurrence", "location", "status")


@dataclass(frozen=True)
class WriteContext:
    owner: str  # the account the calendar belongs to
    calendar: Calendar
    now: datetime
    conference_version: int = 0
    trusted: bool = False  # control API: organizer/creator/id may be given, as an invitation


def html_link(event_id: str, calendar_id: str) -> str:
    eid = base64.b64encode(f"{event_id} {calendar_id}".encode()).decode().rstrip("=")
    return f"https://www.google.com/calendar/event?eid={eid}"


def merge_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Google's patch semantics: nested objects merge, arrays replace, null clears a field."""
    merged = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            if key in ("start", "end", "originalStartTime"):
                # Switching between date and dateTime replaces the other one.
                base = {
                    k: v
                    for k, v in merged[key].items()
                    if not ({"date", "dateTime"} & set(value) and k in ("date", "dateTime"))
                }
                merged[key] = merge_patch(base, value)
            else:
                merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _when(body: dict[str, Any], field: str) -> When:
    if field not in body:
        raise required(f"Missing {field} time.")
    try:
        return parse_when(body[field], field)
    except TimeError as exc:
        message = str(exc)
        reason = "required" if message.startswith("Missing") else "invalid"
        raise CalendarError(400, reason, message) from exc


def _times(body: dict[str, Any]) -> tuple[When, When]:
    start, end = _when(body, "start"), _when(body, "end")
    if start.all_day != end.all_day:
        raise bad_request("Invalid start time.", reason="invalid")
    if start.all_day:
        assert start.day is not None and end.day is not None
        if end.day <= start.day:
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
    else:
        assert start.instant is not None and end.instant is not None
        if end.instant < start.instant:
            raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
    return start, end


def _recurrence(
    body: dict[str, Any], start: When, end: When, ctx: WriteContext
) -> list[str] | None:
    lines = body.get("recurrence")
    if lines is None or lines == []:
        return None
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise bad_request("Invalid recurrence rule.", reason="invalid")
    if not start.all_day and not start.time_zone:
        # Google needs a named zone to repeat wall-clock time across DST.
        raise required("Missing time zone definition for start time.")
    if not start.all_day and not end.time_zone:
        raise required("Missing time zone definition for end time.")
    zone_name = start.time_zone or ctx.calendar.time_zone
    try:
        validate_recurrence(Series(start, end, zone_name, tuple(lines)))
    except RecurrenceError as exc:
        raise bad_request("Invalid recurrence rule.", reason="invalid") from exc
    return list(lines)


def _attendees(
    body: dict[str, Any], organizer_email: str, owner: str
) -> list[dict[str, Any]] | None:
    attendees = body.get("attendees")
    if attendees is None:
        return None
    if not isinstance(attendees, list):
        raise bad_request("Invalid attendees.", reason="invalid")
    normalized: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in attendees:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("email"), str)
            or not item["email"]
        ):
            raise required("Missing attendee email.")
        email = item["email"].strip()
        if "@" not in email:
            raise bad_request("Invalid attendee email.", reason="invalid")
        if email.lower() in seen:
            continue  # Google keeps one entry per address
        seen.add(email.lower())
        status = item.get("responseStatus", "needsAction")
        if status not in _RESPONSE_STATUSES:
            raise bad_request("Invalid attendee response status.", reason="invalid")
        attendee: dict[str, Any] = {"email": email}
        if item.get("displayName"):
            attendee["displayName"] = str(item["displayName"])
        if email.lower() == organizer_email.lower():
            attendee["organizer"] = True
        if email.lower() == owner.lower():
            attendee["self"] = True
        for flag in ("optional", "resource"):
            if item.get(flag) is True:
                attendee[flag] = True
        attendee["responseStatus"] = status
        if isinstance(item.get("comment"), str):
            attendee["comment"] = item["comment"]
        if isinstance(item.get("additionalGuests"), int) and item["additionalGuests"] > 0:
            attendee["additionalGuests"] = item["additionalGuests"]
        normalized.append(attendee)
    return normalized


def _reminders(body: dict[str, Any]) -> dict[str, Any]:
    reminders = body.get("reminders")
    if reminders is None:
        return {"useDefault": True}
    if not isinstance(reminders, dict):
        raise bad_request("Invalid reminders.", reason="invalid")
    overrides = reminders.get("overrides") or []
    use_default = bool(reminders.get("useDefault", False))
    if use_default and overrides:
        raise bad_request(
            "Cannot specify both default reminders and overrides at the same time.",
            reason="cannotUseDefaultRemindersAndSpecifyOverride",
        )
    if len(overrides) > MAX_REMINDER_OVERRIDES:
        raise bad_request(
            "The maximum number of override reminders is 5.", reason="tooManyReminders"
        )
    for override in overrides:
        minutes = override.get("minutes") if isinstance(override, dict) else None
        method = override.get("method") if isinstance(override, dict) else None
        if method not in _REMINDER_METHODS:
            raise (
                required("Missing reminder method.")
                if method is None
                else bad_request("Invalid reminder method.", reason="invalid")
            )
        if not isinstance(minutes, int) or not 0 <= minutes <= 40320:
            raise bad_request("Invalid reminder minutes value.", reason="invalid")
    result: dict[str, Any] = {"useDefault": use_default}
    if overrides:
        result["overrides"] = [{"method": o["method"], "minutes": o["minutes"]} for o in overrides]
    return result


def _person(value: Any, fallback: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("email"), str) and value["email"]:
        person = {"email": value["email"]}
        if value.get("displayName"):
            person["displayName"] = str(value["displayName"])
        return person
    return dict(fallback)


def build_event(
    body: Any, ctx: WriteContext, *, event_id: str, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A stored event from a client body: a new one, or ``existing`` with every field replaced.

    ``etag``/``updated`` are set by :meth:`Calendar.stamp` when the caller stores it.
    """
    if not isinstance(body, dict):
        raise bad_request("Parse Error", reason="parseError")
    start, end = _times(body)
    recurrence = _recurrence(body, start, end, ctx)
    self_person: dict[str, Any] = {"email": ctx.owner, "self": True}
    if existing is None:
        organizer = _person(body.get("organizer"), self_person) if ctx.trusted else self_person
        creator = _person(body.get("creator"), organizer) if ctx.trusted else dict(self_person)
        created = format_timestamp(ctx.now)
        ical_uid = body.get("iCalUID") if isinstance(body.get("iCalUID"), str) else None
        ical_uid = ical_uid or f"{event_id}@google.com"
    else:
        organizer = (
            _person(body.get("organizer"), existing["organizer"])
            if ctx.trusted
            else dict(existing["organizer"])
        )
        creator = dict(existing["creator"])
        created, ical_uid = existing["created"], existing["iCalUID"]
    for person in (organizer, creator):
        if person["email"].lower() == ctx.owner.lower():
            person["self"] = True
        else:
            person.pop("self", None)
    event: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": existing["etag"] if existing else "",
        "id": event_id,
        "status": "confirmed",
        "htmlLink": html_link(event_id, ctx.calendar.id),
        "created": created,
        "updated": existing["updated"] if existing else created,
    }
    for key, kind in _PLAIN_FIELDS.items():
        if key in body and body[key] is not None:
            if not isinstance(body[key], kind):
                raise bad_request(f"Invalid value for: {key}", reason="invalid")
            event[key] = copy.deepcopy(body[key])
    for key, allowed in _ENUMS.items():
        value = body.get(key)
        if value is not None and value not in allowed:
            raise bad_request(f"Invalid value for: {key}", reason="invalid")
        if value is not None:
            event[key] = value
    event.setdefault("status", "confirmed")
    event["creator"] = creator
    event["organizer"] = organizer
    event["start"], event["end"] = store_when(start), store_when(end)
    if recurrence:
        event["recurrence"] = recurrence
    if existing is not None and existing.get("recurringEventId"):
        event["recurringEventId"] = existing["recurringEventId"]
        event["originalStartTime"] = existing["originalStartTime"]
    event["iCalUID"] = ical_uid
    event["sequence"] = _sequence(body, event, existing)
    attendees = _attendees(body, organizer["email"], ctx.owner)
    if attendees:
        event["attendees"] = attendees
    apply_conference(event, body, existing, version=ctx.conference_version, trusted=ctx.trusted)
    event["reminders"] = _reminders(body)
    event.setdefault("eventType", "default")
    return event


def _sequence(body: dict[str, Any], event: dict[str, Any], existing: dict[str, Any] | None) -> int:
    current = existing.get("sequence", 0) if existing else 0
    given = body.get("sequence")
    if given is not None and (isinstance(given, bool) or not isinstance(given, int) or given < 0):
        raise bad_request("Invalid sequence value.", reason="invalid")
    if existing is None:
        return given or 0
    if given is not None and given < current:
        raise bad_request(
            "Invalid sequence value. The specified sequence number is below the "
            "current sequence number of the resource.",
            reason="invalidSequenceValue",
        )
    significant = any(event.get(k) != existing.get(k) for k in _SEQUENCE_FIELDS)
    return max(given or 0, current + 1 if significant else current)


def series_of(master: dict[str, Any], calendar: Calendar) -> Series:
    start = parse_when(master["start"], "start")
    end = parse_when(master["end"], "end")
    zone_name = start.time_zone or calendar.time_zone
    return Series(start, end, zone_name, tuple(master.get("recurrence", ())))


def instance_of(
    master: dict[str, Any], occurrence: Occurrence, calendar: Calendar
) -> dict[str, Any]:
    """The (unmodified) instance of ``master`` at ``occurrence``, in stored shape."""
    instance = {k: v for k, v in master.items() if k != "recurrence"}
    instance_id = f"{master['id']}_{occurrence.suffix()}"
    instance["id"] = instance_id
    instance["htmlLink"] = html_link(instance_id, calendar.id)
    instance["start"] = store_when(occurrence.start)
    instance["end"] = store_when(occurrence.end)
    instance["recurringEventId"] = master["id"]
    instance["originalStartTime"] = store_when(occurrence.start)
    return instance
