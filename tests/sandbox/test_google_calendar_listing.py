"""events.list and events.instances: windows, expansion, ordering, paging, incremental sync."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sandbox.calendar_harness import (
    EVENTS,
    Harness,
    error_reason,
    running_harness,
    timed,
    weekly_series,
)


@pytest.fixture
def cal() -> Iterator[Harness]:
    yield from running_harness()


def starts(listing: dict[str, Any]) -> list[str]:
    return [item["start"].get("dateTime") or item["start"]["date"] for item in listing["items"]]


def every_page(cal: Harness, **query: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while True:
        page = cal.list(
            **query, **({"pageToken": page["nextPageToken"]} if "nextPageToken" in page else {})
        )
        items += page["items"]
        if "nextPageToken" not in page:
            return items, page


# -- windows and expansion ---------------------------------------------------------------------


def test_single_events_expands_series_without_excluded_date(cal: Harness) -> None:
    weekly_series(cal)
    listing = cal.list(singleEvents="true", orderBy="startTime")
    # COUNT counts the excluded date too (RFC 5545); the wall clock holds across DST.
    assert starts(listing) == [
        "2024-03-04T10:00:00+01:00",
        "2024-03-18T10:00:00+01:00",
        "2024-03-25T10:00:00+01:00",
        "2024-04-01T10:00:00+02:00",
    ]


def test_instances_carry_series_id_and_original_start(cal: Harness) -> None:
    series = weekly_series(cal)
    first = cal.list(singleEvents="true", orderBy="startTime")["items"][0]
    assert first["id"] == f"{series['id']}_20240304T090000Z"
    assert first["recurringEventId"] == series["id"] and "recurrence" not in first
    assert first["originalStartTime"] == {
        "dateTime": "2024-03-04T10:00:00+01:00",
        "timeZone": "Europe/Paris",
    }


def test_modified_instance_replaces_its_occurrence(cal: Harness) -> None:
    series = weekly_series(cal)
    instance_id = f"{series['id']}_20240318T090000Z"
    cal.ok(
        "PATCH",
        f"{EVENTS}/{instance_id}",
        {
            "summary": "Moved",
            "start": {"dateTime": "2024-03-19T15:00:00+01:00"},
            "end": {"dateTime": "2024-03-19T16:00:00+01:00"},
        },
    )
    items = cal.list(singleEvents="true", orderBy="startTime")["items"]
    moved = [i for i in items if i["id"] == instance_id]
    assert len(moved) == 1 and moved[0]["summary"] == "Moved"
    assert moved[0]["start"]["dateTime"] == "2024-03-19T15:00:00+01:00"
    assert moved[0]["originalStartTime"]["dateTime"] == "2024-03-18T10:00:00+01:00"


def test_modified_instance_moved_into_the_window_is_listed(cal: Harness) -> None:
    series = weekly_series(cal)
    cal.ok(
        "PATCH",
        f"{EVENTS}/{series['id']}_20240304T090000Z",
        {
            "start": {"dateTime": "2024-05-01T10:00:00+02:00"},
            "end": {"dateTime": "2024-05-01T11:00:00+02:00"},
        },
    )
    listing = cal.list(
        singleEvents="true", timeMin="2024-04-30T00:00:00Z", timeMax="2024-05-02T00:00:00Z"
    )
    assert starts(listing) == ["2024-05-01T10:00:00+02:00"]


def test_time_window_bounds_are_exclusive(cal: Harness) -> None:
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", zone="UTC"))
    assert cal.list(timeMin="2024-03-04T11:00:00Z")["items"] == []
    assert cal.list(timeMax="2024-03-04T10:00:00Z")["items"] == []
    assert len(cal.list(timeMin="2024-03-04T10:59:59Z")["items"]) == 1
    assert (
        len(cal.list(timeMin="2024-03-04T09:00:00Z", timeMax="2024-03-04T10:00:01Z")["items"]) == 1
    )


def test_series_is_listed_once_without_single_events(cal: Harness) -> None:
    series = weekly_series(cal)
    listing = cal.list(timeMin="2024-03-20T00:00:00Z")
    assert [i["id"] for i in listing["items"]] == [series["id"]]
    assert cal.list(timeMin="2024-05-01T00:00:00Z")["items"] == []


def test_all_day_event_is_listed_by_date(cal: Harness) -> None:
    cal.insert({"start": {"date": "2024-03-05"}, "end": {"date": "2024-03-06"}, "summary": "Off"})
    listing = cal.list(timeMin="2024-03-05T12:00:00Z")
    assert listing["items"][0]["start"] == {"date": "2024-03-05"}


def test_time_zone_parameter_changes_rendered_offsets(cal: Harness) -> None:
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    listing = cal.list(timeZone="America/New_York")
    assert listing["items"][0]["start"]["dateTime"] == "2024-03-04T04:00:00-05:00"
    assert listing["timeZone"] == "America/New_York"


def test_time_min_without_offset_answers_bad_request(cal: Harness) -> None:
    status, data = cal.call("GET", EVENTS, query={"timeMin": "2024-03-04T10:00:00"})
    assert status == 400 and error_reason(data) == "badRequest"


def test_time_min_after_time_max_answers_time_range_empty(cal: Harness) -> None:
    status, data = cal.call(
        "GET", EVENTS, query={"timeMin": "2024-03-05T00:00:00Z", "timeMax": "2024-03-04T00:00:00Z"}
    )
    assert status == 400 and error_reason(data) == "timeRangeEmpty"


def test_order_by_start_time_needs_single_events(cal: Harness) -> None:
    status, data = cal.call("GET", EVENTS, query={"orderBy": "startTime"})
    assert status == 400
    assert data["error"]["message"] == (
        "The requested ordering is not available for the particular query."
    )


def test_order_by_updated_lists_last_modified_last(cal: Harness) -> None:
    first = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="first"))
    cal.insert(timed("2024-03-01T10:00:00", "2024-03-01T11:00:00", summary="second"))
    cal.ok("PATCH", f"{EVENTS}/{first['id']}", {"summary": "touched"})
    items = cal.list(orderBy="updated")["items"]
    assert [i["summary"] for i in items] == ["second", "touched"]


def test_q_matches_attendee_addresses_and_summary_words(cal: Harness) -> None:
    cal.insert(
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            summary="Pricing call",
            attendees=[{"email": "dana@acme.test"}],
        )
    )
    cal.insert(timed("2024-03-05T10:00:00", "2024-03-05T11:00:00", summary="Lunch"))
    assert [i["summary"] for i in cal.list(q="acme.test")["items"]] == ["Pricing call"]
    assert [i["summary"] for i in cal.list(q="pricing CALL")["items"]] == ["Pricing call"]


def test_ical_uid_filter_finds_the_event(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    cal.insert(timed("2024-03-05T10:00:00", "2024-03-05T11:00:00"))
    assert [i["id"] for i in cal.list(iCalUID=event["iCalUID"])["items"]] == [event["id"]]


# -- deleted events ---------------------------------------------------------------------------


def test_deleted_event_is_listed_only_with_show_deleted(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="gone"))
    cal.ok("DELETE", f"{EVENTS}/{event['id']}")
    assert cal.list()["items"] == []
    (shown,) = cal.list(showDeleted="true")["items"]
    assert shown["status"] == "cancelled" and shown["summary"] == "gone"


def test_cancelled_instance_is_listed_when_not_expanding(cal: Harness) -> None:
    series = weekly_series(cal)
    instance_id = f"{series['id']}_20240325T090000Z"
    cal.ok("DELETE", f"{EVENTS}/{instance_id}")
    listed = {i["id"]: i for i in cal.list()["items"]}
    assert listed[instance_id] == {
        "kind": "calendar#event",
        "etag": listed[instance_id]["etag"],
        "id": instance_id,
        "status": "cancelled",
        "recurringEventId": series["id"],
        "originalStartTime": {"dateTime": "2024-03-25T10:00:00+01:00", "timeZone": "Europe/Paris"},
    }
    expanded = [i["id"] for i in cal.list(singleEvents="true")["items"]]
    assert instance_id not in expanded and len(expanded) == 3


def test_deleting_a_series_cancels_its_modified_instances(cal: Harness) -> None:
    series = weekly_series(cal)
    instance_id = f"{series['id']}_20240318T090000Z"
    cal.ok("PATCH", f"{EVENTS}/{instance_id}", {"summary": "special"})
    cal.ok("DELETE", f"{EVENTS}/{series['id']}")
    assert cal.list(singleEvents="true")["items"] == []
    assert cal.ok("GET", f"{EVENTS}/{instance_id}")["status"] == "cancelled"


# -- instances --------------------------------------------------------------------------------


def test_instances_lists_the_series_chronologically(cal: Harness) -> None:
    series = weekly_series(cal)
    cal.ok(
        "PATCH",
        f"{EVENTS}/{series['id']}_20240304T090000Z",
        {
            "start": {"dateTime": "2024-03-20T10:00:00+01:00"},
            "end": {"dateTime": "2024-03-20T11:00:00+01:00"},
        },
    )
    listing = cal.ok("GET", f"{EVENTS}/{series['id']}/instances")
    assert starts(listing) == [
        "2024-03-18T10:00:00+01:00",
        "2024-03-20T10:00:00+01:00",
        "2024-03-25T10:00:00+01:00",
        "2024-04-01T10:00:00+02:00",
    ]


def test_instances_pages_and_filters_by_original_start(cal: Harness) -> None:
    series = weekly_series(cal)
    path = f"{EVENTS}/{series['id']}/instances"
    first = cal.ok("GET", path, query={"maxResults": 2})
    second = cal.ok("GET", path, query={"maxResults": 2, "pageToken": first["nextPageToken"]})
    assert len(first["items"]) == 2 and len(second["items"]) == 2 and "nextPageToken" not in second
    assert "nextSyncToken" not in second
    only = cal.ok("GET", path, query={"originalStart": "2024-04-01T08:00:00Z"})
    assert [i["id"] for i in only["items"]] == [f"{series['id']}_20240401T080000Z"]


def test_unmodified_instance_can_be_fetched_by_its_id(cal: Harness) -> None:
    series = weekly_series(cal)
    instance = cal.ok("GET", f"{EVENTS}/{series['id']}_20240401T080000Z")
    assert instance["start"]["dateTime"] == "2024-04-01T10:00:00+02:00"
    status, _ = cal.call("GET", f"{EVENTS}/{series['id']}_20240311T090000Z")  # excluded date
    assert status == 404


# -- paging -----------------------------------------------------------------------------------


def test_paging_returns_each_event_once_and_the_sync_token_on_the_last_page(cal: Harness) -> None:
    for day in range(1, 8):
        cal.insert(timed(f"2024-03-{day:02d}T10:00:00", f"2024-03-{day:02d}T11:00:00"))
    first = cal.list(maxResults=3)
    assert len(first["items"]) == 3 and "nextSyncToken" not in first
    items, last = every_page(cal, maxResults=3)
    assert len({i["id"] for i in items}) == 7 and "nextSyncToken" in last


def test_page_token_of_another_query_is_refused(cal: Harness) -> None:
    for day in range(1, 4):
        cal.insert(timed(f"2024-03-{day:02d}T10:00:00", f"2024-03-{day:02d}T11:00:00"))
    token = cal.list(maxResults=1)["nextPageToken"]
    status, _ = cal.call("GET", EVENTS, query={"pageToken": token, "q": "other"})
    assert status == 400


def test_max_results_must_be_positive(cal: Harness) -> None:
    assert cal.call("GET", EVENTS, query={"maxResults": 0})[0] == 400


def test_fields_parameter_trims_the_response(cal: Harness) -> None:
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="x"))
    listing = cal.list(fields="items(id,summary),nextSyncToken")
    assert set(listing) == {"items", "nextSyncToken"} and set(listing["items"][0]) == {
        "id",
        "summary",
    }
