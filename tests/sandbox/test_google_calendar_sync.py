"""Incremental sync, push channels, control writes, the generator fill and persistence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from integrations.sandbox.generator.models import EventItem, Person
from integrations.sandbox.google.calendar_control import calendar_fill
from integrations.sandbox.google.calendar_state import CalendarStore
from tests.sandbox.calendar_harness import (
    EVENTS,
    OWNER,
    Harness,
    error_reason,
    running_harness,
    timed,
    weekly_series,
)

CHANNELS_STOP = "/google/calendar/v3/channels/stop"
RECEIVER = "https://hooks.example.net/calendar"


@pytest.fixture
def cal() -> Iterator[Harness]:
    yield from running_harness()


def full_sync(cal: Harness, **query: str) -> str:
    listing = cal.list(**query)
    assert "nextPageToken" not in listing
    return listing["nextSyncToken"]


# -- sync tokens --------------------------------------------------------------------------------


def test_sync_token_lists_only_changes_and_deletions(cal: Harness) -> None:
    kept = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="kept"))
    doomed = cal.insert(timed("2024-03-05T10:00:00", "2024-03-05T11:00:00", summary="doomed"))
    token = full_sync(cal)
    added = cal.insert(timed("2024-03-06T10:00:00", "2024-03-06T11:00:00", summary="added"))
    cal.ok("DELETE", f"{EVENTS}/{doomed['id']}")
    changes = cal.list(syncToken=token)
    by_id = {i["id"]: i for i in changes["items"]}
    assert set(by_id) == {added["id"], doomed["id"]} and kept["id"] not in by_id
    assert by_id[doomed["id"]] == {
        "kind": "calendar#event",
        "etag": by_id[doomed["id"]]["etag"],
        "id": doomed["id"],
        "status": "cancelled",
    }
    assert cal.list(syncToken=changes["nextSyncToken"])["items"] == []


def test_unchanged_calendar_gives_back_the_same_sync_token(cal: Harness) -> None:
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    token = full_sync(cal)
    assert cal.list(syncToken=token)["nextSyncToken"] == token


def test_sync_with_single_events_reports_changed_instances(cal: Harness) -> None:
    series = weekly_series(cal)
    token = full_sync(cal, singleEvents="true")
    instance_id = f"{series['id']}_20240318T090000Z"
    cal.ok("PATCH", f"{EVENTS}/{instance_id}", {"summary": "moved"})
    cal.ok("DELETE", f"{EVENTS}/{series['id']}_20240325T090000Z")
    items = cal.list(syncToken=token, singleEvents="true")["items"]
    assert {i["id"]: i["status"] for i in items} == {
        instance_id: "confirmed",
        f"{series['id']}_20240325T090000Z": "cancelled",
    }
    cancelled = next(i for i in items if i["status"] == "cancelled")
    assert cancelled["recurringEventId"] == series["id"] and "originalStartTime" in cancelled


@pytest.mark.parametrize(
    "restriction",
    [
        {"timeMin": "2024-01-01T00:00:00Z"},
        {"q": "x"},
        {"orderBy": "updated"},
        {"showDeleted": "false"},
    ],
)
def test_sync_token_with_a_restriction_answers_400(
    cal: Harness, restriction: dict[str, str]
) -> None:
    token = full_sync(cal)
    status, data = cal.call("GET", EVENTS, query={"syncToken": token, **restriction})
    assert status == 400 and error_reason(data) == "syncTokenWithRequestRestrictions"


def test_expired_sync_token_answers_410_full_sync_required(cal: Harness) -> None:
    token = full_sync(cal)
    cal.store.expire_sync_tokens()
    status, data = cal.call("GET", EVENTS, query={"syncToken": token})
    assert status == 410
    assert data["error"]["errors"][0] == {
        "message": "Sync token is no longer valid, a full sync is required.",
        "domain": "calendar",
        "reason": "fullSyncRequired",
    }
    assert "nextSyncToken" in cal.list()


def test_garbled_sync_token_answers_400(cal: Harness) -> None:
    assert cal.call("GET", EVENTS, query={"syncToken": "not-a-token"})[0] == 400


def test_changes_made_while_paging_come_with_the_next_sync(cal: Harness) -> None:
    for day in range(1, 5):
        cal.insert(timed(f"2024-03-{day:02d}T10:00:00", f"2024-03-{day:02d}T11:00:00"))
    first = cal.list(maxResults=2)
    late = cal.insert(timed("2024-03-09T10:00:00", "2024-03-09T11:00:00", summary="late"))
    last = cal.list(maxResults=2, pageToken=first["nextPageToken"])
    while "nextPageToken" in last:
        last = cal.list(maxResults=2, pageToken=last["nextPageToken"])
    assert late["id"] in [i["id"] for i in cal.list(syncToken=last["nextSyncToken"])["items"]]


def test_updated_min_lists_recent_changes_including_deletions(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    cal.ok("DELETE", f"{EVENTS}/{event['id']}")
    (item,) = cal.list(updatedMin="2000-01-01T00:00:00Z")["items"]
    assert item["status"] == "cancelled"
    assert cal.list(updatedMin="2999-01-01T00:00:00Z")["items"] == []


# -- push channels ------------------------------------------------------------------------------


def watch(cal: Harness, channel_id: str = "chan-1", **extra: Any) -> dict[str, Any]:
    return cal.ok(
        "POST",
        f"{EVENTS}/watch",
        {"id": channel_id, "type": "web_hook", "address": RECEIVER, **extra},
    )


def test_watch_answers_a_channel_and_sends_sync_then_exists(cal: Harness) -> None:
    channel = watch(cal, token="t-1")
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1"
    assert channel["resourceId"] and channel["expiration"].isdigit()
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    states = [
        (m["headers"]["X-Goog-Resource-State"], m["headers"]["X-Goog-Message-Number"])
        for m in cal.sent
    ]
    assert states == [("sync", "1"), ("exists", "2")]
    headers = cal.sent[1]["headers"]
    assert headers["X-Goog-Channel-ID"] == "chan-1" and headers["X-Goog-Channel-Token"] == "t-1"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    assert headers["X-Goog-Resource-URI"] == channel["resourceUri"]
    assert cal.sent[1]["url"] == RECEIVER


def test_stopped_channel_gets_no_more_notifications(cal: Harness) -> None:
    channel = watch(cal)
    cal.ok("POST", CHANNELS_STOP, {"id": channel["id"], "resourceId": channel["resourceId"]})
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    assert len(cal.sent) == 1
    status, _ = cal.call(
        "POST", CHANNELS_STOP, {"id": channel["id"], "resourceId": channel["resourceId"]}
    )
    assert status == 404


def test_expired_channel_gets_no_more_notifications(cal: Harness) -> None:
    watch(cal, params={"ttl": "60"})
    cal.sandbox.advance_clock(61)
    cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    assert [m["headers"]["X-Goog-Resource-State"] for m in cal.sent] == ["sync"]


def test_watch_refuses_plain_http_to_a_public_host(cal: Harness) -> None:
    status, data = cal.call(
        "POST",
        f"{EVENTS}/watch",
        {"id": "c", "type": "web_hook", "address": "http://hooks.example.net/x"},
    )
    assert status == 400 and error_reason(data) == "push.webhookUrlNotHttps"


def test_channel_id_in_use_is_refused(cal: Harness) -> None:
    watch(cal)
    status, data = cal.call(
        "POST", f"{EVENTS}/watch", {"id": "chan-1", "type": "web_hook", "address": RECEIVER}
    )
    assert status == 400 and error_reason(data) == "channelIdNotUnique"


# -- generator fill and persistence -----------------------------------------------------------


def generated(**changes: Any) -> EventItem:
    fields: dict[str, Any] = {
        "uid": "gen-1@liaison.test",
        "summary": "Quarterly review",
        "description": "Numbers",
        "location": "Room 4",
        "start": datetime(2024, 3, 4, 9, tzinfo=UTC),
        "end": datetime(2024, 3, 4, 10, tzinfo=UTC),
        "all_day": False,
        "timezone": "Europe/Paris",
        "rrule": "RRULE:FREQ=WEEKLY;COUNT=3",
        "exdates": (datetime(2024, 3, 11, 9, tzinfo=UTC),),
        "status": "confirmed",
        "organizer": Person("Dana Lee", "dana@acme.test"),
        "attendees": (
            (Person("Alice", OWNER), "accepted"),
            (Person("Dana Lee", "dana@acme.test"), "accepted"),
        ),
        "conference_url": "https://meet.google.com/abc-defg-hij",
    }
    fields.update(changes)
    return EventItem(**fields)


def test_calendar_fill_loads_series_exceptions_and_all_day_events(cal: Harness) -> None:
    items = [
        generated(),
        generated(
            summary="Quarterly review (moved)",
            start=datetime(2024, 3, 18, 13, tzinfo=UTC),
            end=datetime(2024, 3, 18, 14, tzinfo=UTC),
            rrule=None,
            exdates=(),
            recurrence_id=datetime(2024, 3, 18, 9, tzinfo=UTC),
        ),
        generated(
            uid="gen-2@liaison.test",
            summary="Offsite",
            start=date(2024, 3, 6),
            end=date(2024, 3, 7),
            all_day=True,
            rrule=None,
            exdates=(),
            conference_url=None,
        ),
    ]
    with cal.sandbox.lock:
        assert calendar_fill(cal.store, OWNER, items, now=cal.sandbox.now()) == 3
    listing = cal.list(singleEvents="true", orderBy="startTime")
    assert [
        (i["summary"], i["start"].get("dateTime") or i["start"]["date"]) for i in listing["items"]
    ] == [
        ("Quarterly review", "2024-03-04T10:00:00+01:00"),
        ("Offsite", "2024-03-06"),
        ("Quarterly review (moved)", "2024-03-18T14:00:00+01:00"),
    ]
    first = listing["items"][0]
    assert first["organizer"] == {"email": "dana@acme.test", "displayName": "Dana Lee"}
    assert first["iCalUID"] == "gen-1@liaison.test"
    assert first["hangoutLink"] == "https://meet.google.com/abc-defg-hij"
    with cal.sandbox.lock:
        calendar_fill(cal.store, OWNER, items, now=cal.sandbox.now())
    assert len(cal.list()["items"]) == 3  # same uids: refilled, not duplicated


def test_control_routes_create_patch_and_cancel_an_invitation(cal: Harness) -> None:
    path = f"/_sandbox/google/users/{OWNER}/events"
    created = cal.ok(
        "POST",
        path,
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            summary="Invite",
            organizer={"email": "dana@acme.test"},
        ),
    )
    assert created["organizer"] == {"email": "dana@acme.test"}
    token = full_sync(cal)
    cal.ok("PATCH", f"{path}/{created['id']}", {"summary": "Renamed"})
    assert cal.list(syncToken=token)["items"][0]["summary"] == "Renamed"
    cal.ok("POST", f"{path}/{created['id']}/cancel")
    assert cal.ok("GET", f"{EVENTS}/{created['id']}")["status"] == "cancelled"
    cal.ok("POST", f"/_sandbox/google/users/{OWNER}/expire-sync-tokens")
    assert cal.call("GET", EVENTS, query={"syncToken": token})[0] == 410


def test_store_round_trips_through_its_dict(cal: Harness) -> None:
    weekly_series(cal)
    watch(cal)
    token = full_sync(cal, singleEvents="true")
    restored = CalendarStore.from_dict(cal.store.to_dict())
    assert restored.to_dict() == cal.store.to_dict()
    cal.sandbox.google.user(OWNER).calendar = restored
    assert cal.list(syncToken=token, singleEvents="true")["items"] == []
