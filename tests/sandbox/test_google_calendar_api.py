"""Calendar v3 end to end: the unmodified google-api-python-client over HTTPS against the sandbox.

Every response is checked against the discovery document's schemas.
"""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from integrations.sandbox.client import SandboxClient
from tests.sandbox.calendar_client import OWNER, PARIS, calendar_service, paris
from tests.sandbox.discovery_schema import assert_schema


@pytest.fixture
def calendar(sandbox: SandboxClient) -> Any:
    return calendar_service(sandbox)


def weekly(calendar: Any, **extra: Any) -> dict[str, Any]:
    """Mondays 10:00 Paris, five weeks from 2024-03-04, the 11th excluded."""
    body = {
        "summary": "Pipeline review",
        "start": paris("2024-03-04T10:00:00"),
        "end": paris("2024-03-04T11:00:00"),
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/Paris:20240311T100000"],
        **extra,
    }
    event = calendar.events().insert(calendarId="primary", body=body).execute()
    assert_schema("calendar.v3", "Event", event)
    return event


def list_all(calendar: Any, **params: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every page through ``list_next``; the items and the last page."""
    request = calendar.events().list(calendarId="primary", **params)
    items: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    while request is not None:
        page = request.execute()
        assert_schema("calendar.v3", "Events", page)
        items += page["items"]
        request = calendar.events().list_next(request, page)
    return items, page


def reason(error: HttpError) -> str:
    return error.error_details[0]["reason"]


def test_calendar_list_and_calendar_describe_the_primary_calendar(calendar: Any) -> None:
    listing = calendar.calendarList().list().execute()
    assert_schema("calendar.v3", "CalendarList", listing)
    (entry,) = listing["items"]
    assert entry["id"] == OWNER and entry["primary"] is True and entry["accessRole"] == "owner"
    described = calendar.calendars().get(calendarId="primary").execute()
    assert_schema("calendar.v3", "Calendar", described)
    assert described["id"] == OWNER


def test_list_expands_series_with_exdate_and_modified_instance(calendar: Any) -> None:
    series = weekly(calendar)
    moved_id = f"{series['id']}_20240318T090000Z"
    calendar.events().patch(
        calendarId="primary",
        eventId=moved_id,
        body={
            "summary": "Pipeline review (Tuesday)",
            "start": paris("2024-03-19T14:00:00"),
            "end": paris("2024-03-19T15:00:00"),
        },
    ).execute()
    items, _ = list_all(
        calendar,
        singleEvents=True,
        orderBy="startTime",
        timeMin="2024-03-01T00:00:00Z",
        timeMax="2024-04-30T00:00:00Z",
    )
    assert [(i["start"]["dateTime"], i["summary"]) for i in items] == [
        ("2024-03-04T10:00:00+01:00", "Pipeline review"),
        ("2024-03-19T14:00:00+01:00", "Pipeline review (Tuesday)"),
        ("2024-03-25T10:00:00+01:00", "Pipeline review"),
        ("2024-04-01T10:00:00+02:00", "Pipeline review"),
    ]
    moved = items[1]
    assert moved["id"] == moved_id and moved["recurringEventId"] == series["id"]
    assert moved["originalStartTime"] == {
        "dateTime": "2024-03-18T10:00:00+01:00",
        "timeZone": PARIS,
    }


def test_order_by_start_time_without_single_events_is_refused(calendar: Any) -> None:
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", orderBy="startTime").execute()
    assert caught.value.resp.status == 400 and reason(caught.value) == "invalid"


def test_pages_follow_list_next_to_the_sync_token(calendar: Any) -> None:
    for day in range(1, 6):
        calendar.events().insert(
            calendarId="primary",
            body={
                "summary": f"Call {day}",
                "start": paris(f"2024-03-{day:02d}T09:00:00"),
                "end": paris(f"2024-03-{day:02d}T09:30:00"),
            },
        ).execute()
    items, last = list_all(calendar, maxResults=2)
    assert sorted(i["summary"] for i in items) == [f"Call {day}" for day in range(1, 6)]
    assert "nextSyncToken" in last


def test_sync_token_reports_changes_and_cancellations(calendar: Any) -> None:
    series = weekly(calendar)
    single = (
        calendar.events()
        .insert(
            calendarId="primary",
            body={
                "summary": "Demo",
                "start": paris("2024-03-06T15:00:00"),
                "end": paris("2024-03-06T16:00:00"),
            },
        )
        .execute()
    )
    _, last = list_all(calendar, singleEvents=True)
    token = last["nextSyncToken"]
    calendar.events().patch(
        calendarId="primary", eventId=single["id"], body={"location": "Room 2"}
    ).execute()
    calendar.events().delete(
        calendarId="primary", eventId=f"{series['id']}_20240325T090000Z"
    ).execute()
    changes, last = list_all(calendar, singleEvents=True, syncToken=token)
    by_id = {i["id"]: i for i in changes}
    assert by_id[single["id"]]["location"] == "Room 2"
    cancelled = by_id[f"{series['id']}_20240325T090000Z"]
    assert cancelled["status"] == "cancelled" and cancelled["recurringEventId"] == series["id"]
    assert list_all(calendar, singleEvents=True, syncToken=last["nextSyncToken"])[0] == []


def test_expired_sync_token_raises_410_full_sync_required(
    calendar: Any, sandbox: SandboxClient
) -> None:
    _, last = list_all(calendar)
    sandbox.google.expire_sync_tokens(OWNER)
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", syncToken=last["nextSyncToken"]).execute()
    assert caught.value.resp.status == 410 and reason(caught.value) == "fullSyncRequired"


def test_insert_get_update_delete_and_instances(calendar: Any) -> None:
    event = (
        calendar.events()
        .insert(
            calendarId="primary",
            sendUpdates="all",
            body={
                "summary": "Contract",
                "start": paris("2024-03-07T11:00:00"),
                "end": paris("2024-03-07T12:00:00"),
                "attendees": [{"email": "dana@acme.test", "displayName": "Dana"}],
            },
        )
        .execute()
    )
    fetched = calendar.events().get(calendarId="primary", eventId=event["id"]).execute()
    assert fetched == event and fetched["attendees"][0]["responseStatus"] == "needsAction"
    body = {**fetched, "summary": "Contract signing"}
    updated = (
        calendar.events().update(calendarId="primary", eventId=event["id"], body=body).execute()
    )
    assert_schema("calendar.v3", "Event", updated)
    assert updated["summary"] == "Contract signing" and updated["etag"] != event["etag"]
    calendar.events().delete(calendarId="primary", eventId=event["id"]).execute()
    gone = calendar.events().get(calendarId="primary", eventId=event["id"]).execute()
    assert gone["status"] == "cancelled"
    series = weekly(calendar)
    instances = calendar.events().instances(calendarId="primary", eventId=series["id"]).execute()
    assert_schema("calendar.v3", "Events", instances)
    assert [i["id"].rsplit("_", 1)[1] for i in instances["items"]] == [
        "20240304T090000Z",
        "20240318T090000Z",
        "20240325T090000Z",
        "20240401T080000Z",
    ]


def test_stale_etag_in_if_match_raises_412(calendar: Any) -> None:
    event = (
        calendar.events()
        .insert(
            calendarId="primary",
            body={"start": paris("2024-03-07T11:00:00"), "end": paris("2024-03-07T12:00:00")},
        )
        .execute()
    )
    calendar.events().patch(
        calendarId="primary", eventId=event["id"], body={"summary": "first"}
    ).execute()
    request = calendar.events().patch(
        calendarId="primary", eventId=event["id"], body={"summary": "second"}
    )
    request.headers["If-Match"] = event["etag"]
    with pytest.raises(HttpError) as caught:
        request.execute()
    assert caught.value.resp.status == 412


def test_conference_create_request_gives_a_meet_link(calendar: Any) -> None:
    event = (
        calendar.events()
        .insert(
            calendarId="primary",
            conferenceDataVersion=1,
            body={
                "summary": "Kickoff",
                "start": paris("2024-03-08T10:00:00"),
                "end": paris("2024-03-08T10:30:00"),
                "conferenceData": {
                    "createRequest": {
                        "requestId": "kickoff-1",
                        "conferenceSolutionKey": {"type": "hangoutsMeet"},
                    }
                },
            },
        )
        .execute()
    )
    assert_schema("calendar.v3", "Event", event)
    assert event["conferenceData"]["createRequest"]["status"]["statusCode"] == "success"
    assert event["hangoutLink"].startswith("https://meet.google.com/")


def test_batch_runs_calendar_calls_through_the_calendar_batch_endpoint(
    calendar: Any, sandbox: SandboxClient
) -> None:
    series = weekly(calendar)
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Exception | None) -> None:
        answers[request_id] = exception or response

    batch = BatchHttpRequest(
        callback=collect, batch_uri=f"{sandbox.google_base_url}/batch/calendar/v3"
    )
    batch.add(calendar.events().get(calendarId="primary", eventId=series["id"]), request_id="a")
    batch.add(calendar.events().get(calendarId="primary", eventId="missing0000"), request_id="b")
    batch.execute()
    assert answers["a"]["id"] == series["id"]
    assert isinstance(answers["b"], HttpError) and answers["b"].resp.status == 404


def test_invitation_created_through_control_is_seen_by_the_client(
    calendar: Any, sandbox: SandboxClient
) -> None:
    invite = sandbox.google.create_event(
        OWNER,
        {
            "summary": "Partner sync",
            "start": paris("2024-03-12T16:00:00"),
            "end": paris("2024-03-12T17:00:00"),
            "organizer": {"email": "dana@acme.test", "displayName": "Dana"},
            "attendees": [
                {"email": OWNER, "responseStatus": "needsAction"},
                {"email": "dana@acme.test", "responseStatus": "accepted"},
            ],
        },
    )
    (item,) = list_all(calendar)[0]
    assert item["id"] == invite["id"] and item["organizer"]["email"] == "dana@acme.test"
    assert item["attendees"][0]["self"] is True


def test_filled_calendar_is_listed_with_valid_events(calendar: Any, sandbox: SandboxClient) -> None:
    counts = sandbox.google.fill(OWNER, seed=7, count=0, events=12)
    assert counts["events"] > 0
    items, _ = list_all(calendar, singleEvents=True, showDeleted=True)
    assert {i["status"] for i in items} >= {"confirmed"} and len(items) >= counts["events"]
