"""Control routes for calendars, and ``calendar_fill`` for the generator's events.

``/_sandbox/google/users/{email}/events`` acts as the outside world: an invitation lands in the
user's primary calendar, someone edits or cancels it. Writes go through the same code as the
API (so sync tokens, etags and push notifications behave identically) but may set what only
Google itself sets: ``id``, ``organizer``, ``creator`` and ready-made ``conferenceData``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from integrations.sandbox.control_json import control_error, json_object
from integrations.sandbox.generator.models import EventItem
from integrations.sandbox.google.calendar_conference import meet_conference
from integrations.sandbox.google.calendar_errors import CalendarError
from integrations.sandbox.google.calendar_events import WriteContext, build_event, instance_of
from integrations.sandbox.google.calendar_ops import (
    cancel_event,
    find_event,
    insert_event,
    update_event,
)
from integrations.sandbox.google.calendar_recurrence import Occurrence
from integrations.sandbox.google.calendar_render import render_event
from integrations.sandbox.google.calendar_state import Calendar, CalendarStore, event_id_for
from integrations.sandbox.google.calendar_times import When, zone
from integrations.sandbox.google.calendar_watch import notify_change
from integrations.sandbox.google.control import USER
from integrations.sandbox.http import Request, Response, router


def _store(request: Request) -> tuple[str, CalendarStore]:
    user = request.sandbox.google.user(request.params["email"])
    if user is None:
        raise control_error(404, f"no Google user {request.params['email']}")
    if user.calendar is None:
        user.calendar = CalendarStore()
    return user.email, user.calendar


def _run(request: Request, action: Any) -> Response:
    """Run ``action(owner, calendar, now)`` under the lock; API errors become control errors."""
    with request.sandbox.lock:
        owner, store = _store(request)
        calendar = store.primary(owner)
        try:
            event = action(owner, calendar, request.sandbox.now())
        except CalendarError as exc:
            raise control_error(exc.status, f"{exc.reason}: {exc.message}") from exc
        notify_change(request.sandbox, store, calendar)
        return Response.json(render_event(event, calendar))


def _context(owner: str, calendar: Calendar, now: datetime) -> WriteContext:
    return WriteContext(owner=owner, calendar=calendar, now=now, conference_version=1, trusted=True)


@router.route("POST", USER + "/events", name="sandbox.google.events.create", provider="control")
def control_event_create(request: Request) -> Response:
    body = json_object(request)
    return _run(
        request,
        lambda owner, calendar, now: insert_event(calendar, body, _context(owner, calendar, now)),
    )


def _existing(calendar: Calendar, event_id: str, now: datetime) -> dict[str, Any]:
    event = find_event(calendar, event_id, now)
    if event is None:
        raise CalendarError(404, "notFound", f"no event {event_id}")
    return event


@router.route(
    "PATCH",
    USER + r"/events/(?P<event_id>[^/]+)",
    name="sandbox.google.events.patch",
    provider="control",
)
def control_event_patch(request: Request) -> Response:
    body = json_object(request)
    event_id = request.params["event_id"]
    return _run(
        request,
        lambda owner, calendar, now: update_event(
            calendar,
            _existing(calendar, event_id, now),
            body,
            _context(owner, calendar, now),
            patch=True,
        ),
    )


@router.route(
    "POST",
    USER + r"/events/(?P<event_id>[^/]+)/cancel",
    name="sandbox.google.events.cancel",
    provider="control",
)
def control_event_cancel(request: Request) -> Response:
    event_id = request.params["event_id"]
    return _run(
        request,
        lambda owner, calendar, now: cancel_event(
            calendar, _existing(calendar, event_id, now), now
        ),
    )


@router.route(
    "POST", USER + "/expire-sync-tokens", name="sandbox.google.expireSyncTokens", provider="control"
)
def control_expire_sync_tokens(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _store(request)
        store.primary(owner)
        store.expire_sync_tokens()
        return Response.json({"expired": True, "calendars": sorted(store.calendars)})


# -- the generator's events -------------------------------------------------------------------


def _when_json(value: datetime | date, all_day: bool, zone_name: str) -> dict[str, str]:
    if all_day or not isinstance(value, datetime):
        day = value.date() if isinstance(value, datetime) else value
        return {"date": day.isoformat()}
    moment = value if value.tzinfo else value.replace(tzinfo=zone(zone_name))
    return {"dateTime": moment.isoformat(), "timeZone": zone_name}


def _conference(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.hostname == "meet.google.com":
        return meet_conference(parts.path.strip("/"))
    # Zoom/Teams links arrive through add-ons: Google keeps them as an addOn conference.
    name = {"zoom.us": "Zoom Meeting", "teams.microsoft.com": "Microsoft Teams Meeting"}.get(
        ".".join((parts.hostname or "").split(".")[-2:]), parts.hostname or "Meeting"
    )
    return {
        "conferenceSolution": {"key": {"type": "addOn"}, "name": name},
        "entryPoints": [{"entryPointType": "video", "uri": url, "label": url}],
    }


def _exdate_line(moments: Iterable[datetime], all_day: bool, zone_name: str) -> str:
    if all_day:
        return "EXDATE;VALUE=DATE:" + ",".join(m.strftime("%Y%m%d") for m in moments)
    local = [m.astimezone(zone(zone_name)) if m.tzinfo else m for m in moments]
    return f"EXDATE;TZID={zone_name}:" + ",".join(m.strftime("%Y%m%dT%H%M%S") for m in local)


def event_body(item: EventItem) -> dict[str, Any]:
    """The API-shaped body for one generated event (a series, a single event or an exception)."""
    body: dict[str, Any] = {
        "iCalUID": item.uid,
        "status": item.status,
        "start": _when_json(item.start, item.all_day, item.timezone),
        "end": _when_json(item.end, item.all_day, item.timezone),
        "organizer": {"email": item.organizer.email, "displayName": item.organizer.name},
        "attendees": [
            {"email": p.email, "displayName": p.name, "responseStatus": status}
            for p, status in item.attendees
        ],
    }
    for key, value in (
        ("summary", item.summary),
        ("description", item.description),
        ("location", item.location),
    ):
        if value:
            body[key] = value
    if item.rrule and item.recurrence_id is None:
        rule = item.rrule if item.rrule.upper().startswith("RRULE:") else f"RRULE:{item.rrule}"
        body["recurrence"] = [rule]
        if item.exdates:
            body["recurrence"].append(_exdate_line(item.exdates, item.all_day, item.timezone))
    if item.conference_url:
        body["conferenceData"] = _conference(item.conference_url)
    return body


def _exception_base(calendar: Calendar, series_id: str, item: EventItem) -> dict[str, Any] | None:
    """The unmodified instance a generated exception replaces (None if the series lacks it)."""
    master = calendar.events.get(series_id)
    if master is None or item.recurrence_id is None:
        return None
    original = item.recurrence_id
    if item.all_day:
        start = When(None, original.date() if isinstance(original, datetime) else original, None)
    else:
        aware = original if original.tzinfo else original.replace(tzinfo=zone(item.timezone))
        start = When(aware.astimezone(UTC), None, item.timezone)
    return instance_of(master, Occurrence(start, start), calendar)


def calendar_fill(
    store: CalendarStore, owner: str, items: list[EventItem], *, now: datetime
) -> int:
    """Load ``generate_events`` output into ``owner``'s primary calendar; returns events written.

    Called by the Google control ``fill`` route with the sandbox lock held. Ids derive from the
    events' UIDs, so filling twice with the same seed updates rather than duplicates. Series
    are written before their modified occurrences (items with ``recurrence_id``).
    """
    calendar = store.primary(owner)
    ctx = WriteContext(owner=owner, calendar=calendar, now=now, conference_version=1, trusted=True)
    written = 0
    for item in sorted(items, key=lambda i: i.recurrence_id is not None):
        series_id = event_id_for(f"{owner.lower()}/{item.uid}")
        body = event_body(item)
        existing: dict[str, Any] | None
        if item.recurrence_id is None:
            event_id, existing = series_id, calendar.events.get(series_id)
        else:
            base = _exception_base(calendar, series_id, item)
            if base is None:
                continue  # an exception of a series that was not generated: nothing to modify
            event_id, existing = base["id"], calendar.events.get(base["id"]) or base
        event = build_event(body, ctx, event_id=event_id, existing=existing)
        calendar.stamp(event, now)
        written += 1
    return written
