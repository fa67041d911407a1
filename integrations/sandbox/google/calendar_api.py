"""Google Calendar v3 under ``/google/calendar/v3/...``: calendarList, calendars, events, channels.

Route names are the discovery method ids (``calendar.events.list``...), so fault rules can
target ``calendar.*``. Each method accepts the scopes its discovery document lists. Calendar
calls are not charged to a quota: Calendar's per-minute per-user quota has no knob in the
sandbox config and the Gmail quota tracker is per second.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

from integrations.sandbox.google import calendar_control  # noqa: F401 - registers control routes
from integrations.sandbox.google.auth import authenticate
from integrations.sandbox.google.calendar_errors import (
    CalendarError,
    bad_request,
    full_sync_required,
    invalid_parameter,
    not_found,
)
from integrations.sandbox.google.calendar_events import WriteContext
from integrations.sandbox.google.calendar_listing import list_events, list_instances
from integrations.sandbox.google.calendar_ops import (
    cancel_event,
    find_event,
    insert_event,
    update_event,
)
from integrations.sandbox.google.calendar_query import parse_list_query
from integrations.sandbox.google.calendar_render import render_event
from integrations.sandbox.google.calendar_resources import calendar_json, calendar_list_entry
from integrations.sandbox.google.calendar_state import (
    Calendar,
    CalendarStore,
    SyncTokenError,
    SyncTokenExpired,
)
from integrations.sandbox.google.calendar_times import TimeError, is_known_zone, parse_rfc3339
from integrations.sandbox.google.calendar_watch import (
    channel_json,
    notify_change,
    open_channel,
    send_sync,
    stop_channel,
)
from integrations.sandbox.google.fields import apply_fields, parse_fields
from integrations.sandbox.google.gmail_batch import handle_batch
from integrations.sandbox.http import Request, Response, router

BASE = "/google/calendar/v3"
CALENDAR = BASE + r"/calendars/(?P<calendarId>[^/]+)"
EVENTS = CALENDAR + "/events"
EVENT = EVENTS + r"/(?P<eventId>[^/]+)"
SERVICE = "calendar-json.googleapis.com"
_DISCOVERY = "googleapiclient/discovery_cache/documents/calendar.v3.json"
_SEND_UPDATES = ("all", "externalOnly", "none")


@cache
def _method_scopes() -> dict[str, list[str]]:
    """Scopes per method id from the discovery document the client library ships."""
    path = Path(googleapiclient.__file__).parent.parent / _DISCOVERY
    document = json.loads(path.read_text(encoding="utf-8"))
    scopes: dict[str, list[str]] = {}
    for resource in document["resources"].values():
        for method in resource.get("methods", {}).values():
            scopes[method["id"]] = method.get("scopes", [])
    return scopes


def _authorize(request: Request, method_id: str) -> tuple[str, CalendarStore]:
    """The caller's e-mail and calendar store; 401/403 as Google (call with the lock held)."""
    resource, verb = method_id.split(".")[1:]
    caller = authenticate(
        request,
        accepted_scopes=_method_scopes()[method_id],
        service=SERVICE,
        method=f"calendar.v3.{resource[0].upper()}{resource[1:]}.{verb.title()}",
    )
    if caller.user.calendar is None:
        caller.user.calendar = CalendarStore()
    return caller.user.email, caller.user.calendar


def _calendar(store: CalendarStore, owner: str, request: Request) -> Calendar:
    calendar = store.calendar(owner, request.params["calendarId"])
    if calendar is None:
        raise not_found()
    return calendar


def _json_body(request: Request) -> Any:
    try:
        return request.json() if request.body else {}
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Parse Error", reason="parseError") from None


def _answer(request: Request, body: dict[str, Any], status: int = 200) -> Response:
    """JSON response honouring the ``fields`` partial-response parameter."""
    spec = request.arg("fields")
    if spec:
        body = apply_fields(body, parse_fields(spec))
    return Response.json(body, status=status)


def _write_context(request: Request, owner: str, calendar: Calendar, now: datetime) -> WriteContext:
    raw = request.arg("conferenceDataVersion")
    if raw is not None and raw not in ("0", "1"):
        raise invalid_parameter(
            "conferenceDataVersion",
            f"Invalid value '{raw}'. Values must be within the range: [0, 1]",
        )
    send_updates = request.arg("sendUpdates")
    if send_updates is not None and send_updates not in _SEND_UPDATES:
        raise invalid_parameter("sendUpdates", f"Invalid value '{send_updates}'.")
    return WriteContext(owner=owner, calendar=calendar, now=now, conference_version=int(raw or 0))


def _display_args(request: Request) -> tuple[str | None, int | None]:
    zone_name = request.arg("timeZone")
    if zone_name is not None and not is_known_zone(zone_name):
        raise invalid_parameter("timeZone", "Invalid time zone definition.")
    max_attendees = request.arg("maxAttendees")
    if max_attendees is None:
        return zone_name, None
    if not max_attendees.isdigit() or int(max_attendees) < 1:
        raise invalid_parameter("maxAttendees", f"Invalid value '{max_attendees}'.")
    return zone_name, int(max_attendees)


def _event(calendar: Calendar, request: Request, now: datetime) -> dict[str, Any]:
    event = find_event(calendar, request.params["eventId"], now)
    if event is None:
        raise not_found()
    return event


def _check_if_match(request: Request, event: dict[str, Any]) -> None:
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip() != "*" and wanted.strip() != event["etag"]:
        raise CalendarError(
            412,
            "conditionNotMet",
            "Precondition Failed",
            location="If-Match",
            location_type="header",
        )


# -- calendarList and calendars ---------------------------------------------------------------


@router.route(
    "GET", BASE + "/users/me/calendarList", name="calendar.calendarList.list", provider="google"
)
def calendar_list_list(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.calendarList.list")
        primary = store.primary(owner)
        entries = [calendar_list_entry(c) for c in store.calendars.values()]
        body = {
            "kind": "calendar#calendarList",
            "etag": primary.etag(),
            "nextSyncToken": CalendarStore.sync_token(primary, 0),
            "items": entries,
        }
    return _answer(request, body)


@router.route(
    "GET",
    BASE + r"/users/me/calendarList/(?P<calendarId>[^/]+)",
    name="calendar.calendarList.get",
    provider="google",
)
def calendar_list_get(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.calendarList.get")
        body = calendar_list_entry(_calendar(store, owner, request))
    return _answer(request, body)


@router.route("GET", CALENDAR, name="calendar.calendars.get", provider="google")
def calendars_get(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.calendars.get")
        body = calendar_json(_calendar(store, owner, request))
    return _answer(request, body)


# -- events -----------------------------------------------------------------------------------


@router.route("GET", EVENTS, name="calendar.events.list", provider="google")
def events_list(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.list")
        calendar = _calendar(store, owner, request)
        query = parse_list_query(request.arg, request.args)
        try:
            body = list_events(calendar, query, request.sandbox.now())
        except SyncTokenExpired:
            raise full_sync_required() from None
        except SyncTokenError:
            raise invalid_parameter("syncToken", "Invalid sync token value.") from None
    return _answer(request, body)


@router.route("GET", EVENT + "/instances", name="calendar.events.instances", provider="google")
def events_instances(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.instances")
        calendar = _calendar(store, owner, request)
        master = calendar.events.get(request.params["eventId"])
        if master is None or master.get("recurringEventId"):
            raise not_found()
        query = parse_list_query(request.arg, request.args, instances=True)
        original = request.arg("originalStart")
        try:
            original_start = parse_rfc3339(original) if original else None
        except TimeError:
            raise invalid_parameter("originalStart") from None
        body = list_instances(calendar, master, query, request.sandbox.now(), original_start)
    return _answer(request, body)


@router.route("GET", EVENT, name="calendar.events.get", provider="google")
def events_get(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.get")
        calendar = _calendar(store, owner, request)
        event = _event(calendar, request, request.sandbox.now())
        zone_name, max_attendees = _display_args(request)
        if request.headers.get("If-None-Match") == event["etag"]:
            return Response.empty(304)
        body = render_event(event, calendar, zone_param=zone_name, max_attendees=max_attendees)
    return _answer(request, body)


@router.route("POST", EVENTS, name="calendar.events.insert", provider="google")
def events_insert(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.insert")
        calendar = _calendar(store, owner, request)
        now = request.sandbox.now()
        ctx = _write_context(request, owner, calendar, now)
        _, max_attendees = _display_args(request)
        event = insert_event(calendar, _json_body(request), ctx)
        notify_change(request.sandbox, store, calendar)
        body = render_event(event, calendar, max_attendees=max_attendees)
    return _answer(request, body)


def _write(request: Request, method_id: str, *, patch: bool) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, method_id)
        calendar = _calendar(store, owner, request)
        now = request.sandbox.now()
        existing = _event(calendar, request, now)
        _check_if_match(request, existing)
        ctx = _write_context(request, owner, calendar, now)
        zone_name, max_attendees = _display_args(request)
        event = update_event(calendar, existing, _json_body(request), ctx, patch=patch)
        notify_change(request.sandbox, store, calendar)
        body = render_event(event, calendar, zone_param=zone_name, max_attendees=max_attendees)
    return _answer(request, body)


@router.route("PUT", EVENT, name="calendar.events.update", provider="google")
def events_update(request: Request) -> Response:
    return _write(request, "calendar.events.update", patch=False)


@router.route("PATCH", EVENT, name="calendar.events.patch", provider="google")
def events_patch(request: Request) -> Response:
    return _write(request, "calendar.events.patch", patch=True)


@router.route("DELETE", EVENT, name="calendar.events.delete", provider="google")
def events_delete(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.delete")
        calendar = _calendar(store, owner, request)
        now = request.sandbox.now()
        existing = _event(calendar, request, now)
        _check_if_match(request, existing)
        _write_context(request, owner, calendar, now)  # validates sendUpdates
        cancel_event(calendar, existing, now)
        notify_change(request.sandbox, store, calendar)
    return Response.empty(204)


# -- push -------------------------------------------------------------------------------------


@router.route("POST", EVENTS + "/watch", name="calendar.events.watch", provider="google")
def events_watch(request: Request) -> Response:
    with request.sandbox.lock:
        owner, store = _authorize(request, "calendar.events.watch")
        calendar = _calendar(store, owner, request)
        parse_list_query(request.arg, request.args)  # the same parameters as list, checked alike
        channel = open_channel(
            store,
            calendar,
            _json_body(request),
            base_url=request.base_url,
            calendar_id=request.params["calendarId"],
            now=request.sandbox.now(),
        )
        send_sync(request.sandbox, channel)
        body = channel_json(channel)
    return _answer(request, body)


@router.route("POST", BASE + "/channels/stop", name="calendar.channels.stop", provider="google")
def channels_stop(request: Request) -> Response:
    with request.sandbox.lock:
        _, store = _authorize(request, "calendar.channels.stop")
        stop_channel(store, _json_body(request))
    return Response.empty(204)


@router.route("POST", r"/google/batch/calendar/v3", name="google.batch.calendar", provider="google")
def calendar_batch(request: Request) -> Response:
    """Calendar's own batch endpoint (``batchPath`` ``batch/calendar/v3`` in discovery)."""
    return handle_batch(request, (BASE + "/",))
