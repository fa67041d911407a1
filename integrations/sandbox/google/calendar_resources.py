"""The Calendar and CalendarListEntry resources, as Google shows a user's own primary calendar."""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google.calendar_conference import ALLOWED_SOLUTION_TYPES
from integrations.sandbox.google.calendar_state import DEFAULT_REMINDERS, Calendar

# A new account's notification defaults for its primary calendar.
_NOTIFICATIONS = [
    {"type": "eventCreation", "method": "email"},
    {"type": "eventChange", "method": "email"},
    {"type": "eventCancellation", "method": "email"},
    {"type": "eventResponse", "method": "email"},
]


def calendar_json(calendar: Calendar) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "calendar#calendar",
        "etag": calendar.etag(),
        "id": calendar.id,
        "summary": calendar.summary,
        "timeZone": calendar.time_zone,
        "conferenceProperties": {"allowedConferenceSolutionTypes": list(ALLOWED_SOLUTION_TYPES)},
    }
    if calendar.description:
        body["description"] = calendar.description
    return body


def calendar_list_entry(calendar: Calendar) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": calendar.etag(),
        "id": calendar.id,
        "summary": calendar.summary,
        "timeZone": calendar.time_zone,
        "colorId": "14",
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "selected": True,
        "accessRole": "owner",
        "defaultReminders": [dict(r) for r in DEFAULT_REMINDERS],
        "conferenceProperties": {"allowedConferenceSolutionTypes": list(ALLOWED_SOLUTION_TYPES)},
    }
    if calendar.description:
        body["description"] = calendar.description
    if calendar.primary:
        body["notificationSettings"] = {"notifications": [dict(n) for n in _NOTIFICATIONS]}
        body["primary"] = True
    return body
