"""The query parameters of events.list / events.instances / events.watch, checked like Google."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from integrations.sandbox.google.calendar_errors import (
    CalendarError,
    bad_request,
    invalid_parameter,
)
from integrations.sandbox.google.calendar_times import TimeError, is_known_zone, parse_rfc3339

DEFAULT_MAX_RESULTS = 250
MAX_PAGE_SIZE = 2500  # larger maxResults values are served as 2500 ("can never be larger")
EVENT_TYPES = ("birthday", "default", "focusTime", "fromGmail", "outOfOffice", "workingLocation")
ORDERS = ("startTime", "updated")


@dataclass(frozen=True)
class ListQuery:
    single_events: bool = False
    show_deleted: bool = False
    show_deleted_explicit_false: bool = False
    time_min: datetime | None = None
    time_max: datetime | None = None
    updated_min: datetime | None = None
    order_by: str | None = None
    q: str | None = None
    ical_uid: str | None = None
    event_types: tuple[str, ...] = ()
    private_properties: tuple[tuple[str, str], ...] = ()
    shared_properties: tuple[tuple[str, str], ...] = ()
    max_results: int = DEFAULT_MAX_RESULTS
    page_token: str | None = None
    sync_token: str | None = None
    time_zone: str | None = None
    max_attendees: int | None = None

    def fingerprint(self) -> str:
        """What defines the result set: a page token only fits the query it came from."""
        fields = dataclasses.asdict(self)
        for volatile in ("page_token", "max_results", "time_zone", "max_attendees"):
            fields.pop(volatile)
        return json.dumps(fields, default=str, sort_keys=True)

    def restricted_with_sync(self) -> bool:
        """Filters Google refuses next to a syncToken (the token covers the whole calendar)."""
        return any(
            (
                self.time_min,
                self.time_max,
                self.updated_min,
                self.order_by,
                self.q,
                self.ical_uid,
                self.private_properties,
                self.shared_properties,
            )
        )

    @staticmethod
    def for_instances(query: ListQuery) -> ListQuery:
        return dataclasses.replace(query, order_by="startTime")


def _boolean(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid_parameter(name, f"Invalid value '{value}'. Values must be true or false.")
    return lowered == "true"


def _integer(name: str, value: str | None, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise invalid_parameter(name, f"Invalid value '{value}'.") from None
    if number < minimum:
        raise invalid_parameter(
            name,
            f"Invalid value '{value}'. Values must be within the range: [{minimum}, 2147483647]",
        )
    return number


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_rfc3339(value, require_offset=True)
    except TimeError:
        # Google's answer to "2024-01-01T00:00:00" (no offset) or a garbled timestamp.
        raise bad_request() from None


def _properties(name: str, values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            raise invalid_parameter(name)
        pairs.append((key, wanted))
    return tuple(pairs)


def parse_list_query(
    arg: Callable[[str], str | None], args: Callable[[str], list[str]], *, instances: bool = False
) -> ListQuery:
    """Read and validate the list parameters (``arg``/``args`` are ``Request.arg/args``)."""
    single_events = _boolean("singleEvents", arg("singleEvents"))
    show_deleted = _boolean("showDeleted", arg("showDeleted"))
    max_results = _integer("maxResults", arg("maxResults"), 1)
    max_attendees = _integer("maxAttendees", arg("maxAttendees"), 1)
    time_min, time_max = _timestamp(arg("timeMin")), _timestamp(arg("timeMax"))
    updated_min = None if instances else _timestamp(arg("updatedMin"))
    if time_min is not None and time_max is not None and time_min >= time_max:
        raise bad_request("The specified time range is empty.", reason="timeRangeEmpty")
    time_zone = arg("timeZone")
    if time_zone is not None and not is_known_zone(time_zone):
        raise invalid_parameter("timeZone", "Invalid time zone definition.")
    order_by = None if instances else arg("orderBy")
    if order_by is not None and order_by not in ORDERS:
        raise invalid_parameter("orderBy", f"Invalid value '{order_by}'.")
    event_types = () if instances else tuple(args("eventTypes"))
    if any(t not in EVENT_TYPES for t in event_types):
        raise invalid_parameter("eventTypes")
    query = ListQuery(
        single_events=bool(single_events) or instances,
        show_deleted=bool(show_deleted),
        show_deleted_explicit_false=show_deleted is False,
        time_min=time_min,
        time_max=time_max,
        updated_min=updated_min,
        order_by=order_by,
        q=None if instances else arg("q") or None,
        ical_uid=None if instances else arg("iCalUID"),
        event_types=event_types,
        private_properties=()
        if instances
        else _properties("privateExtendedProperty", args("privateExtendedProperty")),
        shared_properties=()
        if instances
        else _properties("sharedExtendedProperty", args("sharedExtendedProperty")),
        max_results=min(max_results or DEFAULT_MAX_RESULTS, MAX_PAGE_SIZE),
        page_token=arg("pageToken") or None,
        sync_token=None if instances else arg("syncToken"),
        time_zone=time_zone,
        max_attendees=max_attendees,
    )
    if query.sync_token is not None and (
        query.restricted_with_sync() or query.show_deleted_explicit_false
    ):
        raise CalendarError(
            400,
            "syncTokenWithRequestRestrictions",
            "Sync token cannot be used with other request restrictions.",
            domain="calendar",
        )
    if order_by == "startTime" and not query.single_events:
        raise CalendarError(
            400,
            "invalid",
            "The requested ordering is not available for the particular query.",
            location="orderBy",
        )
    return query
