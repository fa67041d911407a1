"""Graph events: list, get, create, update, delete, cancel and responses; the default calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import eventstore, ids
from integrations.sandbox.microsoft.events_json import (
    EVENT_SELECTABLE,
    check_times,
    event_json,
    normalize_write,
)
from integrations.sandbox.microsoft.events_model import (
    EventDataError,
    Instance,
    event_bounds,
    expand,
    zone_of,
)
from integrations.sandbox.microsoft.graph_common import (
    Ctx,
    GraphError,
    graph_route,
    next_link,
    page_params,
)
from integrations.sandbox.microsoft.graph_odata import parse_select
from integrations.sandbox.microsoft.records import StoredEvent

EVENTS = r"(?:/(?i:calendar)|/(?i:calendars)/[^/]+)?/(?i:events)"
EVENT = EVENTS + r"/(?P<event>[^/]+)"


def out_zone(ctx: Ctx) -> str:
    """``Prefer: outlook.timezone`` names the zone event times come back in (default UTC)."""
    wanted = ctx.prefer.get("outlook.timezone")
    if not wanted:
        return "UTC"
    try:
        zone_of(wanted)
    except EventDataError as exc:
        raise GraphError(400, "TimeZoneNotSupportedException", str(exc)) from exc
    ctx.applied.append(f'outlook.timezone="{wanted}"')
    return wanted


def render_event(
    ctx: Ctx,
    event: StoredEvent,
    instance: Instance | None = None,
    select: list[str] | None = None,
    zone: str | None = None,
) -> dict[str, Any]:
    if instance is not None:
        key = eventstore.original_key(instance.original_start)
        eventstore.remember_occurrence(ids.occurrence_id(event.id, key), event.id, key)
    return event_json(
        ctx.target, event, zone_name=zone or out_zone(ctx), instance=instance, select=select
    )


def event_or_404(ctx: Ctx) -> tuple[StoredEvent, str | None]:
    """(stored event, original start key when the id names an occurrence of a series)."""
    key = ctx.request.params["event"]
    event = ctx.mailbox.events.get(key)
    if event is not None:
        return event, None
    found = eventstore.find_occurrence(ctx.mailbox, key, ctx.now)
    if found is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return found


def occurrence_instance(event: StoredEvent, key: str) -> Instance | None:
    """The occurrence of a series whose original start is ``key``."""
    original = datetime.fromisoformat(key.replace("Z", "+00:00"))
    moments = [original]
    override = event.occurrence_overrides.get(key, {})
    if override.get("start"):
        moments.append(event_bounds({**event.data, **override})[0])
    for moment in moments:
        for instance in expand(
            event.data,
            event.cancelled_occurrences,
            event.occurrence_overrides,
            moment - timedelta(days=2),
            moment + timedelta(days=2),
        ):
            if eventstore.original_key(instance.original_start) == key:
                return instance
    return None


@graph_route("GET", EVENTS, name="graph.events.list", access="calendar.read")
def list_events(ctx: Ctx) -> Response:
    select = parse_select(ctx.arg("$select"), EVENT_SELECTABLE, "microsoft.graph.event")
    top, skip = page_params(ctx)
    zone = out_zone(ctx)
    events = sorted(ctx.mailbox.events.values(), key=lambda e: e.created_at)
    page = events[skip : skip + top]
    body: dict[str, Any] = {"@odata.context": ctx.context("events")}
    if skip + top < len(events):
        body["@odata.nextLink"] = next_link(ctx, skip + top)
    body["value"] = [render_event(ctx, e, select=select, zone=zone) for e in page]
    return ctx.ok(body)


@graph_route("GET", EVENT, name="graph.events.get", access="calendar.read")
def get_event(ctx: Ctx) -> Response:
    select = parse_select(ctx.arg("$select"), EVENT_SELECTABLE, "microsoft.graph.event")
    event, key = event_or_404(ctx)
    instance = occurrence_instance(event, key) if key else None
    if key and (instance is None or instance.cancelled):
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return ctx.ok(
        {
            "@odata.context": ctx.context("events/$entity"),
            **render_event(ctx, event, instance, select),
        }
    )


def _written(ctx: Ctx, *, creating: bool, base: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        changes = normalize_write(ctx.json_body(), creating=creating)
        check_times({**(base or {}), **changes})
        if changes.get("recurrence"):
            expand({**(base or {}), **changes}, [], {}, ctx.now, ctx.now)
    except EventDataError as exc:
        raise GraphError(400, "ErrorInvalidRequest", str(exc)) from exc
    except (KeyError, ValueError, TypeError) as exc:
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid event: {exc}") from exc
    return changes


@graph_route("POST", EVENTS, name="graph.events.create", access="calendar.write")
def create_event(ctx: Ctx) -> Response:
    data = _written(ctx, creating=True)
    data["organizer"] = {"emailAddress": {"name": ctx.target.name, "address": ctx.target.upn}}
    event = eventstore.create_event(ctx.state, ctx.mailbox, data)
    return ctx.ok(
        {"@odata.context": ctx.context("events/$entity"), **render_event(ctx, event)}, status=201
    )


@graph_route("PATCH", EVENT, name="graph.events.update", access="calendar.write")
def update_event(ctx: Ctx) -> Response:
    event, key = event_or_404(ctx)
    if key is not None:
        changes = _written(ctx, creating=False, base=event.data)
        eventstore.override_occurrence(ctx.state, ctx.mailbox, event, key, changes)
        instance = occurrence_instance(event, key)
        return ctx.ok(
            {"@odata.context": ctx.context("events/$entity"), **render_event(ctx, event, instance)}
        )
    changes = _written(ctx, creating=False, base=event.data)
    eventstore.update_event(ctx.state, ctx.mailbox, event, changes)
    return ctx.ok({"@odata.context": ctx.context("events/$entity"), **render_event(ctx, event)})


@graph_route("DELETE", EVENT, name="graph.events.delete", access="calendar.write")
def delete_event(ctx: Ctx) -> Response:
    event, key = event_or_404(ctx)
    if key is not None:
        eventstore.cancel_occurrence(ctx.state, ctx.mailbox, event, key)
    else:
        eventstore.delete_event(ctx.state, ctx.mailbox, event)
    return ctx.empty(204)


@graph_route("POST", EVENT + r"/(?i:cancel)", name="graph.events.cancel", access="calendar.write")
def cancel_event(ctx: Ctx) -> Response:
    event, key = event_or_404(ctx)
    organizer = ((event.data.get("organizer") or {}).get("emailAddress") or {}).get("address", "")
    if organizer.lower() != ctx.target.upn:
        raise GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    # The organizer's own copy goes away; attendees would get a cancellation.
    if key is not None:
        eventstore.cancel_occurrence(ctx.state, ctx.mailbox, event, key)
    else:
        eventstore.delete_event(ctx.state, ctx.mailbox, event)
    return ctx.empty(202)


def _respond(ctx: Ctx, response: str) -> Response:
    event, key = event_or_404(ctx)
    attendees = [dict(a) for a in event.data.get("attendees") or []]
    for attendee in attendees:
        address = ((attendee.get("emailAddress") or {}).get("address") or "").lower()
        if address == ctx.target.upn:
            attendee["status"] = {
                "response": response,
                "time": ctx.now.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            }
    if key is not None:
        eventstore.override_occurrence(ctx.state, ctx.mailbox, event, key, {"attendees": attendees})
    else:
        eventstore.update_event(ctx.state, ctx.mailbox, event, {"attendees": attendees})
    return ctx.empty(202)


for _action, _response in (
    ("accept", "accepted"),
    ("decline", "declined"),
    ("tentativelyAccept", "tentativelyAccepted"),
):

    def _make(response: str) -> Any:
        return lambda ctx: _respond(ctx, response)

    graph_route(
        "POST", EVENT + rf"/(?i:{_action})", name=f"graph.events.{_action}", access="calendar.write"
    )(_make(_response))


def calendar_json(ctx: Ctx) -> dict[str, Any]:
    owner = ctx.target
    return {
        "id": ctx.state.well_known_folder(ctx.mailbox, "msgfolderroot").id + "Cal",
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACGg==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": {"name": owner.name, "address": owner.upn},
    }


@graph_route("GET", r"/(?i:calendar)", name="graph.calendar.get", access="calendar.read")
def get_calendar(ctx: Ctx) -> Response:
    return ctx.ok({"@odata.context": ctx.context("calendar/$entity"), **calendar_json(ctx)})


@graph_route("GET", r"/(?i:calendars)", name="graph.calendars.list", access="calendar.read")
def list_calendars(ctx: Ctx) -> Response:
    return ctx.ok({"@odata.context": ctx.context("calendars"), "value": [calendar_json(ctx)]})
