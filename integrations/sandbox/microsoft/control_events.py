"""Control routes for calendars (``/_sandbox/microsoft/users/{upn}/events...``) and filling a
calendar from the generator: invitations arriving, organizers changing or cancelling meetings.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.control_json import control_error, json_object
from integrations.sandbox.http import Request, Response, router
from integrations.sandbox.microsoft import eventstore
from integrations.sandbox.microsoft.events_json import check_times, data_from_item, normalize_write
from integrations.sandbox.microsoft.events_model import EventDataError, original_key
from integrations.sandbox.microsoft.records import Mailbox, User
from integrations.sandbox.microsoft.state import MicrosoftState, state_of

PREFIX = r"/_sandbox/microsoft"
USER = PREFIX + r"/users/(?P<upn>[^/]+)"


def user_and_mailbox(state: MicrosoftState, request: Request) -> tuple[User, Mailbox]:
    """The user named by the route's ``upn`` and their mailbox; a 404 for an unknown one."""
    user = state.find_user(request.params["upn"])
    if user is None:
        raise control_error(404, f"no Microsoft user {request.params['upn']}")
    return user, state.mailboxes[user.oid]


def fill_events(state: MicrosoftState, mailbox: Mailbox, items: list[Any]) -> int:
    """Load generated events: series with their skipped weeks, then moved occurrences."""
    series: dict[str, Any] = {}
    for item in items:
        if item.recurrence_id is not None:
            continue
        cancelled = [original_key(moment) for moment in item.exdates]
        series[item.uid] = eventstore.create_event(
            state, mailbox, data_from_item(item), uid=item.uid, cancelled=cancelled
        )
    for item in items:
        parent = series.get(item.uid) if item.recurrence_id is not None else None
        if parent is not None:
            changes = data_from_item(item)
            eventstore.override_occurrence(
                state,
                mailbox,
                parent,
                original_key(item.recurrence_id),
                {k: changes[k] for k in ("subject", "start", "end")},
            )
    return len(series)


# -- events ------------------------------------------------------------------------------------


def _event_changes(
    data: dict[str, Any], *, creating: bool, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    extra: dict[str, Any] = {k: data.pop(k) for k in ("organizer", "isCancelled") if k in data}
    try:
        changes = normalize_write(data, creating=creating)
        check_times({**(base or {}), **changes})
    except (EventDataError, KeyError, ValueError) as exc:
        raise control_error(400, str(exc)) from exc
    return {**changes, **extra}


@router.route("POST", USER + "/events", name="sandbox.microsoft.events.create", provider="control")
def events_create(request: Request) -> Response:
    """An event appears (an invitation from someone else when ``organizer`` names them)."""
    data = json_object(request)
    with request.sandbox.lock:
        state = state_of(request)
        user, mailbox = user_and_mailbox(state, request)
        changes = _event_changes(data, creating=True)
        changes.setdefault("organizer", {"emailAddress": {"name": user.name, "address": user.upn}})
        event = eventstore.create_event(state, mailbox, changes)
        return Response.json({"id": event.id, "iCalUId": event.ical_uid}, status=201)


def _event(mailbox: Mailbox, request: Request) -> Any:
    event = mailbox.events.get(request.params["id"])
    if event is None:
        raise control_error(404, f"no event {request.params['id']}")
    return event


@router.route(
    "PATCH",
    USER + r"/events/(?P<id>[^/]+)",
    name="sandbox.microsoft.events.update",
    provider="control",
)
def events_update(request: Request) -> Response:
    data = json_object(request)
    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = user_and_mailbox(state, request)
        event = _event(mailbox, request)
        eventstore.update_event(
            state, mailbox, event, _event_changes(data, creating=False, base=event.data)
        )
        return Response.json({"id": event.id, "changeKey": event.change_key})


@router.route(
    "POST",
    USER + r"/events/(?P<id>[^/]+)/cancel",
    name="sandbox.microsoft.events.cancel",
    provider="control",
)
def events_cancel(request: Request) -> Response:
    """The organizer cancelled: the attendee's copy stays, marked cancelled, as in Outlook."""
    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = user_and_mailbox(state, request)
        event = _event(mailbox, request)
        subject = str(event.data.get("subject") or "")
        eventstore.update_event(
            state,
            mailbox,
            event,
            {
                "isCancelled": True,
                "subject": subject if subject.startswith("Canceled: ") else f"Canceled: {subject}",
            },
        )
        return Response.json({"id": event.id, "isCancelled": True})
