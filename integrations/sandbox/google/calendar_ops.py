"""Event writes shared by the Calendar API and the control API: find, insert, update, cancel.

An instance of a recurring event that was never modified is not stored; it is computed from its
series. Writing to one (update, patch, delete) stores it as an exception with the instance's id,
``recurringEventId`` and ``originalStartTime``, as Google does.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from integrations.sandbox.google.calendar_errors import CalendarError, bad_request, gone_deleted
from integrations.sandbox.google.calendar_events import (
    WriteContext,
    build_event,
    instance_of,
    merge_patch,
    series_of,
)
from integrations.sandbox.google.calendar_recurrence import occurrence_at, split_instance_id
from integrations.sandbox.google.calendar_state import Calendar, is_valid_event_id, new_event_id


def find_event(calendar: Calendar, event_id: str, now: datetime) -> dict[str, Any] | None:
    """A stored event, or the computed instance an instance id names, or None."""
    stored = calendar.events.get(event_id)
    if stored is not None:
        return stored
    split = split_instance_id(event_id)
    if split is None:
        return None
    series_id, suffix = split
    master = calendar.events.get(series_id)
    if master is None or "recurrence" not in master or master.get("status") == "cancelled":
        return None
    occurrence = occurrence_at(
        series_of(master, calendar), suffix, calendar_zone=calendar.time_zone, now=now
    )
    return instance_of(master, occurrence, calendar) if occurrence is not None else None


def insert_event(calendar: Calendar, body: Any, ctx: WriteContext) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("Parse Error", reason="parseError")
    event_id = body.get("id")
    if event_id is None:
        event_id = new_event_id()
    elif not isinstance(event_id, str) or not is_valid_event_id(event_id):
        raise bad_request("Invalid resource id value.", reason="invalid")
    elif event_id in calendar.events:
        # Ids are never reused, not even those of deleted events.
        raise CalendarError(409, "duplicate", "The requested identifier already exists.")
    event = build_event(body, ctx, event_id=event_id)
    calendar.stamp(event, ctx.now)
    return event


def update_event(
    calendar: Calendar, existing: dict[str, Any], body: Any, ctx: WriteContext, *, patch: bool
) -> dict[str, Any]:
    """events.update (every writable field replaced) or events.patch (merged)."""
    if not isinstance(body, dict):
        raise bad_request("Parse Error", reason="parseError")
    source = merge_patch(existing, body) if patch else body
    event = build_event(source, ctx, event_id=existing["id"], existing=existing)
    if existing.get("recurringEventId"):
        event.pop("recurrence", None)  # an instance cannot carry its own recurrence
    calendar.stamp(event, ctx.now)
    if event["status"] == "cancelled" and "recurrence" in existing:
        _cancel_exceptions(calendar, existing["id"], ctx.now)
    return event


def cancel_event(calendar: Calendar, existing: dict[str, Any], now: datetime) -> dict[str, Any]:
    """events.delete: the event stays as ``cancelled`` (sync reports it), sequence bumped."""
    if existing.get("status") == "cancelled":
        raise gone_deleted()
    event = copy.deepcopy(existing)
    event["status"] = "cancelled"
    event["sequence"] = event.get("sequence", 0) + 1
    calendar.stamp(event, now)
    if "recurrence" in event:
        _cancel_exceptions(calendar, event["id"], now)
    return event


def _cancel_exceptions(calendar: Calendar, series_id: str, now: datetime) -> None:
    """Deleting a series deletes its modified instances too."""
    for exception in calendar.exceptions_of(series_id):
        if exception.get("status") != "cancelled":
            cancelled = copy.deepcopy(exception)
            cancelled["status"] = "cancelled"
            calendar.stamp(cancelled, now)
