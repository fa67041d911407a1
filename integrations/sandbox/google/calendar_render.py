"""Event JSON for responses: times re-projected, Google's field order, reduced cancelled events.

Deleted events come back as ``{kind, etag, id, status: "cancelled"}`` in incremental results;
a cancelled instance of a live series keeps ``recurringEventId`` and ``originalStartTime`` so a
client can drop that one occurrence ("Cancelled exceptions are only guaranteed to have values
for the id, recurringEventId and originalStartTime fields").
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google.calendar_state import Calendar
from integrations.sandbox.google.calendar_times import parse_when, render_when

# Google's field order in Event JSON (clients do not care; people reading logs do).
# fmt: off
_FIELD_ORDER = (
    "kind", "etag", "id", "status", "htmlLink", "created", "updated", "summary", "description",
    "location", "colorId", "creator", "organizer", "start", "end", "endTimeUnspecified",
    "recurrence", "recurringEventId", "originalStartTime", "transparency", "visibility",
    "iCalUID", "sequence", "attendees", "attendeesOmitted", "extendedProperties", "hangoutLink",
    "conferenceData", "gadget", "anyoneCanAddSelf", "guestsCanInviteOthers", "guestsCanModify",
    "guestsCanSeeOtherGuests", "privateCopy", "locked", "reminders", "source", "attachments",
    "eventType",
)
# fmt: on
_RANK = {name: position for position, name in enumerate(_FIELD_ORDER)}


def render_event(
    event: dict[str, Any],
    calendar: Calendar,
    *,
    zone_param: str | None = None,
    minimal: bool = False,
    max_attendees: int | None = None,
) -> dict[str, Any]:
    """The Event JSON for a response; ``zone_param`` is the request's ``timeZone``."""

    def when(value: dict[str, Any], field: str) -> dict[str, str]:
        parsed = parse_when(value, field)
        return render_when(parsed, zone_param or parsed.time_zone or calendar.time_zone)

    if minimal and event.get("status") == "cancelled":
        reduced = {
            "kind": "calendar#event",
            "etag": event["etag"],
            "id": event["id"],
            "status": "cancelled",
        }
        if event.get("recurringEventId"):
            reduced["recurringEventId"] = event["recurringEventId"]
            reduced["originalStartTime"] = when(event["originalStartTime"], "originalStartTime")
        return reduced
    rendered = dict(event)
    rendered["start"] = when(event["start"], "start")
    rendered["end"] = when(event["end"], "end")
    if "originalStartTime" in event:
        rendered["originalStartTime"] = when(event["originalStartTime"], "originalStartTime")
    attendees = event.get("attendees")
    if max_attendees is not None and attendees and len(attendees) > max_attendees:
        rendered["attendees"] = [a for a in attendees if a.get("self")]
        rendered["attendeesOmitted"] = True
        if not rendered["attendees"]:
            del rendered["attendees"]
    return dict(sorted(rendered.items(), key=lambda pair: _RANK.get(pair[0], len(_RANK))))
