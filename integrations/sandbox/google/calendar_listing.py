"""events.list and events.instances: filtering, recurrence expansion, ordering, paging, sync.

Paging is keyset-based (the page token carries the last item's sort key), so an event changed
between two page requests is never skipped. The page token also carries the change counter of
the first page: ``nextSyncToken`` on the last page stands for that moment, so changes made while
a client pages through are reported by its next incremental sync (Google's guarantee).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.sandbox.google.calendar_errors import invalid_parameter
from integrations.sandbox.google.calendar_events import instance_of, series_of
from integrations.sandbox.google.calendar_query import ListQuery
from integrations.sandbox.google.calendar_recurrence import occurrences
from integrations.sandbox.google.calendar_render import render_event
from integrations.sandbox.google.calendar_state import DEFAULT_REMINDERS, Calendar, CalendarStore
from integrations.sandbox.google.calendar_times import (
    When,
    format_timestamp,
    parse_rfc3339,
    parse_when,
)


@dataclass(frozen=True)
class Item:
    event: dict[str, Any]  # stored shape (a stored event or a computed instance)
    minimal: bool  # cancelled events answered with Google's reduced fields


# -- selection ------------------------------------------------------------------------------------


def _span(event: dict[str, Any], calendar: Calendar) -> tuple[datetime, datetime]:
    start, end = parse_when(event["start"], "start"), parse_when(event["end"], "end")
    return start.start_instant(calendar.time_zone), end.start_instant(calendar.time_zone)


def _in_window(event: dict[str, Any], calendar: Calendar, query: ListQuery) -> bool:
    begins, ends = _span(event, calendar)
    if query.time_min is not None and ends <= query.time_min:
        return False
    return not (query.time_max is not None and begins >= query.time_max)


def _matches(event: dict[str, Any], query: ListQuery) -> bool:
    if query.event_types and event.get("eventType", "default") not in query.event_types:
        return False
    if query.ical_uid is not None and event.get("iCalUID") != query.ical_uid:
        return False
    if query.updated_min is not None and parse_rfc3339(event["updated"]) < query.updated_min:
        return False
    for scope, filters in (
        ("private", query.private_properties),
        ("shared", query.shared_properties),
    ):
        properties = event.get("extendedProperties", {}).get(scope, {})
        if any(properties.get(key) != value for key, value in filters):
            return False
    if query.q:
        people = [event.get("organizer", {}), *event.get("attendees", [])]
        fields = [event.get("summary", ""), event.get("description", ""), event.get("location", "")]
        fields += [p.get(k, "") for p in people for k in ("email", "displayName")]
        haystack = "\n".join(fields).lower()
        return all(term in haystack for term in query.q.lower().split())
    return True


def _expanded(
    master: dict[str, Any],
    calendar: Calendar,
    query: ListQuery,
    now: datetime,
    *,
    windowed: bool = True,
) -> Iterable[dict[str, Any]]:
    """Unmodified instances of ``master`` (instances with a stored exception are skipped)."""
    series = series_of(master, calendar)
    found = occurrences(
        series,
        calendar_zone=calendar.time_zone,
        time_min=query.time_min if windowed else None,
        time_max=query.time_max if windowed else None,
        now=now,
    )
    for occurrence in found:
        instance_id = f"{master['id']}_{occurrence.suffix()}"
        if instance_id not in calendar.events:
            yield instance_of(master, occurrence, calendar)


def _series_alive(event: dict[str, Any], calendar: Calendar) -> bool:
    master = calendar.events.get(event.get("recurringEventId", ""))
    return master is not None and master.get("status") != "cancelled"


def select_full(calendar: Calendar, query: ListQuery, now: datetime) -> list[Item]:
    """A full (non-incremental) list: what exists in the window, deleted ones on request."""
    deleted_ok = query.show_deleted or query.updated_min is not None
    reduce_deleted = query.updated_min is not None
    items: list[Item] = []
    for event in calendar.events.values():
        if not _matches(event, query):
            continue
        cancelled = event.get("status") == "cancelled"
        if "recurrence" in event:
            if query.single_events:
                # Google: a deleted series yields none of its instances, even with showDeleted.
                if not cancelled:
                    items.extend(Item(i, False) for i in _expanded(event, calendar, query, now))
                continue
            if cancelled and not deleted_ok:
                continue
            series = series_of(event, calendar)
            if not occurrences(
                series,
                calendar_zone=calendar.time_zone,
                time_min=query.time_min,
                time_max=query.time_max,
                now=now,
                limit=1,
            ):
                continue
            items.append(Item(event, cancelled and reduce_deleted))
            continue
        if cancelled:
            # Cancelled exceptions of a live series are listed even without showDeleted, unless
            # instances are expanded (then the exception simply removes that instance).
            exception_shown = (
                not query.single_events
                and event.get("recurringEventId")
                and (_series_alive(event, calendar))
            )
            if not (deleted_ok or exception_shown):
                continue
        if _in_window(event, calendar, query):
            items.append(Item(event, cancelled and (reduce_deleted or not query.show_deleted)))
    return items


def select_changed(
    calendar: Calendar, query: ListQuery, since: int, until: int, now: datetime
) -> list[Item]:
    """An incremental list: every record stamped in ``(since, until]``, deletions included."""
    items: list[Item] = []
    for event in calendar.events.values():
        stamp = calendar.stamps.get(event["id"], 0)
        if not since < stamp <= until:
            continue
        if query.event_types and event.get("eventType", "default") not in query.event_types:
            continue
        cancelled = event.get("status") == "cancelled"
        if query.single_events and "recurrence" in event and not cancelled:
            items.extend(
                Item(i, False) for i in _expanded(event, calendar, query, now, windowed=False)
            )
            continue
        items.append(Item(event, cancelled))
    return items


# -- ordering and paging ------------------------------------------------------------------------


def _start_key(event: dict[str, Any], calendar: Calendar) -> str:
    return format_timestamp(_span(event, calendar)[0])


def sort_key(item: Item, calendar: Calendar, order_by: str | None) -> list[str]:
    event = item.event
    if order_by == "startTime":
        return [_start_key(event, calendar), event["id"]]
    if order_by == "updated":
        # Same-millisecond changes keep their order through the calendar's change counter.
        stamp = calendar.stamps.get(event["id"]) or calendar.stamps.get(
            event.get("recurringEventId", ""), 0
        )
        return [event["updated"], f"{stamp:012d}", event["id"]]
    # Unspecified but stable: creation order, a series' instances chronologically.
    return [
        event["created"],
        event.get("recurringEventId") or event["id"],
        _start_key(event, calendar),
        event["id"],
    ]


@dataclass(frozen=True)
class PageToken:
    after: list[str] | None
    snapshot: int


def _fingerprint(query: ListQuery) -> str:
    return hashlib.sha256(query.fingerprint().encode()).hexdigest()[:16]


def encode_page_token(after: list[str], snapshot: int, query: ListQuery) -> str:
    raw = json.dumps({"a": after, "s": snapshot, "f": _fingerprint(query)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_page_token(token: str, query: ListQuery) -> PageToken:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, snapshot, fingerprint = data["a"], data["s"], data["f"]
        if not isinstance(after, list) or not isinstance(snapshot, int):
            raise ValueError(token)
    except (ValueError, KeyError, TypeError) as exc:
        raise invalid_parameter("pageToken", "Invalid page token value.") from exc
    if fingerprint != _fingerprint(query):
        # The token belongs to a different query: Google refuses it rather than guess.
        raise invalid_parameter("pageToken", "Invalid page token value.")
    return PageToken(after, snapshot)


def page(
    items: list[Item], calendar: Calendar, query: ListQuery, snapshot: int
) -> tuple[list[Item], str | None]:
    """Sort, cut after the token's key, and take one page; the next page token if more remain."""
    keyed = sorted(((sort_key(i, calendar, query.order_by), i) for i in items), key=lambda p: p[0])
    after = decode_page_token(query.page_token, query).after if query.page_token else None
    if after is not None:
        keyed = [pair for pair in keyed if pair[0] > after]
    chunk = keyed[: query.max_results]
    if len(keyed) > query.max_results:
        return [i for _, i in chunk], encode_page_token(chunk[-1][0], snapshot, query)
    return [i for _, i in chunk], None


def events_collection(
    calendar: Calendar,
    items: list[Item],
    query: ListQuery,
    now: datetime,
    *,
    next_page: str | None,
    next_sync: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": calendar.etag(),
        "summary": calendar.summary,
        "updated": calendar.updated or format_timestamp(now),
        "timeZone": query.time_zone or calendar.time_zone,
        "accessRole": "owner",
        "defaultReminders": [dict(r) for r in DEFAULT_REMINDERS],
    }
    if calendar.description:
        body["description"] = calendar.description
    if next_page:
        body["nextPageToken"] = next_page
    if next_sync:
        body["nextSyncToken"] = next_sync
    body["items"] = [
        render_event(
            i.event,
            calendar,
            zone_param=query.time_zone,
            minimal=i.minimal,
            max_attendees=query.max_attendees,
        )
        for i in items
    ]
    return body


def list_events(calendar: Calendar, query: ListQuery, now: datetime) -> dict[str, Any]:
    """The Events resource answering events.list (full or incremental)."""
    snapshot = calendar.change
    if query.page_token:
        snapshot = decode_page_token(query.page_token, query).snapshot
    if query.sync_token is not None:
        since = CalendarStore.read_sync_token(calendar, query.sync_token)
        items = select_changed(calendar, query, since, snapshot, now)
    else:
        items = select_full(calendar, query, now)
    chunk, next_page = page(items, calendar, query, snapshot)
    next_sync = None if next_page else CalendarStore.sync_token(calendar, snapshot)
    return events_collection(calendar, chunk, query, now, next_page=next_page, next_sync=next_sync)


def list_instances(
    calendar: Calendar,
    master: dict[str, Any],
    query: ListQuery,
    now: datetime,
    original_start: datetime | None,
) -> dict[str, Any]:
    """The Events resource answering events.instances, in chronological order."""
    items: list[Item] = []
    if "recurrence" not in master:
        if master.get("status") != "cancelled" or query.show_deleted:
            items.append(Item(master, False))
    elif master.get("status") != "cancelled":
        items.extend(Item(i, False) for i in _expanded(master, calendar, query, now))
        for exception in calendar.exceptions_of(master["id"]):
            if exception.get("status") == "cancelled" and not query.show_deleted:
                continue
            if _in_window(exception, calendar, query):
                items.append(Item(exception, False))
    if original_start is not None:
        items = [i for i in items if _original_start(i.event, calendar) == original_start]
    ordered = ListQuery.for_instances(query)
    chunk, next_page = page(items, calendar, ordered, calendar.change)
    return events_collection(calendar, chunk, query, now, next_page=next_page, next_sync=None)


def _original_start(event: dict[str, Any], calendar: Calendar) -> datetime | None:
    value = event.get("originalStartTime") or event.get("start")
    if value is None:
        return None
    when: When = parse_when(value, "originalStartTime")
    return when.start_instant(calendar.time_zone)
