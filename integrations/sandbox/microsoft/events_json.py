"""Graph's event JSON for stored events and their occurrences; event bodies clients write."""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.events_model import (
    EventDataError,
    Instance,
    event_bounds,
    floating_dt,
    graph_dt,
    original_key,
    parse_datetime_tz,
    pattern_from_rrule,
)
from integrations.sandbox.microsoft.graph_render import iso
from integrations.sandbox.microsoft.records import StoredEvent, User

EVENT_PROPERTIES = (
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "transactionId",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "iCalUId",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "hasAttachments",
    "subject",
    "bodyPreview",
    "importance",
    "sensitivity",
    "isAllDay",
    "isCancelled",
    "isOrganizer",
    "responseRequested",
    "seriesMasterId",
    "showAs",
    "type",
    "webLink",
    "onlineMeetingUrl",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "isDraft",
    "hideAttendees",
    "responseStatus",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "recurrence",
    "attendees",
    "organizer",
    "onlineMeeting",
)
EVENT_SELECTABLE = {p.lower(): p for p in ("id", "originalStart", *EVENT_PROPERTIES)}
WRITABLE = (
    "subject",
    "body",
    "start",
    "end",
    "isAllDay",
    "location",
    "locations",
    "attendees",
    "recurrence",
    "showAs",
    "importance",
    "sensitivity",
    "categories",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "reminderMinutesBeforeStart",
    "isReminderOn",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
    "transactionId",
)
_RESPONSES = {
    "needsAction": "none",
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentativelyAccepted",
}
_TAGS = re.compile(r"<[^>]+>")


def _address(person: dict[str, Any] | None) -> str:
    return str(((person or {}).get("emailAddress") or {}).get("address") or "").lower()


def event_json(
    owner: User,
    event: StoredEvent,
    *,
    zone_name: str,
    instance: Instance | None = None,
    select: list[str] | None = None,
) -> dict[str, Any]:
    data = {**event.data, **(instance.overrides if instance else {})}
    is_series = bool(event.data.get("recurrence"))
    all_day = bool(data.get("isAllDay"))
    if instance is not None:
        item_id = ids.occurrence_id(event.id, original_key(instance.original_start))
        kind = "exception" if instance.overrides else "occurrence"
        start, end = instance.start, instance.end
    else:
        item_id, kind = event.id, "seriesMaster" if is_series else "singleInstance"
        start, end = event_bounds(data)
    zone_in = str((data.get("start") or {}).get("timeZone") or "UTC")
    organizer = data.get("organizer") or {
        "emailAddress": {"name": owner.name, "address": owner.upn}
    }
    is_organizer = _address(organizer) == owner.upn
    mine = next((a for a in data.get("attendees") or [] if _address(a) == owner.upn), None)
    response = (
        {"response": "organizer", "time": "0001-01-01T00:00:00Z"}
        if is_organizer
        else {
            "response": ((mine or {}).get("status") or {}).get("response", "none"),
            "time": "0001-01-01T00:00:00Z",
        }
    )
    body = data.get("body") or {"contentType": "html", "content": ""}
    preview = _TAGS.sub(" ", str(body.get("content") or ""))
    join_url = (data.get("onlineMeeting") or {}).get("joinUrl")
    values: dict[str, Any] = {
        "createdDateTime": iso(event.created_at).replace("Z", ".0000000Z"),
        "lastModifiedDateTime": iso(event.modified_at).replace("Z", ".0000000Z"),
        "changeKey": event.change_key,
        "categories": list(data.get("categories") or []),
        "transactionId": data.get("transactionId"),
        "originalStartTimeZone": zone_in,
        "originalEndTimeZone": str((data.get("end") or {}).get("timeZone") or zone_in),
        "iCalUId": event.ical_uid,
        "reminderMinutesBeforeStart": data.get("reminderMinutesBeforeStart", 15),
        "isReminderOn": data.get("isReminderOn", True),
        "hasAttachments": False,
        "subject": data.get("subject", ""),
        "bodyPreview": " ".join(preview.split())[:255],
        "importance": data.get("importance", "normal"),
        "sensitivity": data.get("sensitivity", "normal"),
        "isAllDay": all_day,
        "isCancelled": bool(data.get("isCancelled")),
        "isOrganizer": is_organizer,
        "responseRequested": data.get("responseRequested", True),
        "seriesMasterId": event.id if instance is not None else None,
        "showAs": data.get("showAs", "busy"),
        "type": kind,
        "webLink": (
            f"https://outlook.office365.com/owa/?itemid={quote(item_id, safe='')}"
            "&exvsurl=1&path=/calendar/item"
        ),
        "onlineMeetingUrl": None,
        "isOnlineMeeting": bool(data.get("isOnlineMeeting") or join_url),
        "onlineMeetingProvider": data.get(
            "onlineMeetingProvider", "teamsForBusiness" if join_url else "unknown"
        ),
        "allowNewTimeProposals": data.get("allowNewTimeProposals", True),
        "isDraft": False,
        "hideAttendees": data.get("hideAttendees", False),
        "responseStatus": response,
        "body": body,
        "start": floating_dt(start.date(), zone_name) if all_day else graph_dt(start, zone_name),
        "end": floating_dt(end.date(), zone_name) if all_day else graph_dt(end, zone_name),
        "location": data.get("location") or _location(""),
        "locations": data.get("locations")
        or ([data["location"]] if (data.get("location") or {}).get("displayName") else []),
        "recurrence": event.data.get("recurrence") if instance is None else None,
        "attendees": data.get("attendees") or [],
        "organizer": organizer,
        "onlineMeeting": {"joinUrl": join_url} if join_url else None,
    }
    out: dict[str, Any] = {"@odata.etag": f'W/"{event.change_key}"', "id": item_id}
    if instance is not None and (select is None or "originalStart" in select):
        out["originalStart"] = original_key(instance.original_start)
    for name in EVENT_PROPERTIES if select is None else select:
        if name in values:
            out[name] = copy.deepcopy(values[name])
    return out


def _location(name: str) -> dict[str, Any]:
    return {
        "displayName": name,
        "locationType": "default",
        "uniqueIdType": "unknown",
        "address": {},
        "coordinates": {},
    }


def normalize_write(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The writable fields of a POST/PATCH body, checked the way Exchange checks them."""
    unknown = [k for k in body if k not in WRITABLE and not k.startswith("@odata")]
    ignored = {"organizer", "id", "type", "iCalUId", "changeKey", "webLink", "seriesMasterId"}
    name = next((k for k in unknown if k not in ignored), None)
    if name is not None:
        raise EventDataError(
            f"Could not find a property named '{name}' on type 'microsoft.graph.event'."
        )
    data = {k: copy.deepcopy(v) for k, v in body.items() if k in WRITABLE}
    for key in ("start", "end"):
        if key in data:
            parse_datetime_tz(data[key])
    if creating and not ("start" in data and "end" in data):
        raise EventDataError(
            "Your request can't be completed. The start and end times are required."
        )
    if isinstance(data.get("location"), dict):
        data["location"] = {**_location(""), **data["location"]}
    for attendee in data.get("attendees") or []:
        attendee.setdefault("type", "required")
        attendee.setdefault("status", {"response": "none", "time": "0001-01-01T00:00:00Z"})
    return data


def check_times(data: dict[str, Any]) -> None:
    start, end = event_bounds(data)
    if end < start:
        raise EventDataError("The Event's end time must be after its start time.")
    if data.get("isAllDay") and (start.time() != end.time() or start == end):
        raise EventDataError(
            "Your request can't be completed. The start and end time for an "
            "all-day event must be set to midnight and span at least a day."
        )


def person(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def data_from_item(item: Any) -> dict[str, Any]:
    """Graph fields for a generator EventItem (organizer, attendees, conference, recurrence)."""
    zone = item.timezone
    if item.all_day:
        start = {"dateTime": f"{_day(item.start).isoformat()}T00:00:00.0000000", "timeZone": zone}
        end = {"dateTime": f"{_day(item.end).isoformat()}T00:00:00.0000000", "timeZone": zone}
    else:
        start, end = graph_dt(item.start, zone), graph_dt(item.end, zone)
    body = item.description.replace("\n", "<br>")
    data: dict[str, Any] = {
        "subject": item.summary,
        "body": {"contentType": "html", "content": f"<html><body>{body}</body></html>"},
        "start": start,
        "end": end,
        "isAllDay": item.all_day,
        "location": _location(item.location),
        "organizer": person(item.organizer.name, item.organizer.email),
        "attendees": [
            {
                "type": "required",
                "status": {
                    "response": _RESPONSES.get(status, "none"),
                    "time": "0001-01-01T00:00:00Z",
                },
                "emailAddress": {"name": p.name, "address": p.email},
            }
            for p, status in item.attendees
        ],
        "isCancelled": item.status == "cancelled",
    }
    if item.conference_url:
        data.update(
            isOnlineMeeting=True,
            onlineMeetingProvider="teamsForBusiness",
            onlineMeeting={"joinUrl": item.conference_url},
        )
    if item.rrule:
        first = (
            item.start
            if isinstance(item.start, datetime)
            else datetime.combine(item.start, datetime.min.time())
        )
        data["recurrence"] = pattern_from_rrule(item.rrule, first, zone)
    return data


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
