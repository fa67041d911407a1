"""Calendar v3 handlers driven with plain ``Request`` objects (no server, no TLS).

These pin the API's rules one by one; ``test_google_calendar_api.py`` runs the same surface
end to end through google-api-python-client.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.sandbox.dispatch import call_handler
from integrations.sandbox.http import CaseInsensitiveHeaders, Request, router
from tests.sandbox.calendar_harness import (
    EVENTS,
    OWNER,
    READONLY,
    Harness,
    error_reason,
    running_harness,
    timed,
)


@pytest.fixture
def cal() -> Iterator[Harness]:
    yield from running_harness()


# -- calendars ----------------------------------------------------------------------------------


def test_primary_calendar_answers_under_its_email_and_the_primary_alias(cal: Harness) -> None:
    by_alias = cal.ok("GET", "/google/calendar/v3/calendars/primary")
    by_email = cal.ok("GET", f"/google/calendar/v3/calendars/{OWNER}")
    assert by_alias == by_email
    assert by_alias["id"] == OWNER and by_alias["kind"] == "calendar#calendar"


def test_calendar_list_shows_the_primary_calendar_as_owned(cal: Harness) -> None:
    listing = cal.ok("GET", "/google/calendar/v3/users/me/calendarList")
    (entry,) = listing["items"]
    assert entry["primary"] is True and entry["accessRole"] == "owner" and entry["id"] == OWNER
    assert cal.ok("GET", "/google/calendar/v3/users/me/calendarList/primary") == entry


def test_unknown_calendar_answers_404_not_found(cal: Harness) -> None:
    status, data = cal.call("GET", "/google/calendar/v3/calendars/bob@example.com/events")
    assert status == 404 and error_reason(data) == "notFound"


def test_request_without_token_answers_401(cal: Harness) -> None:
    matched = router.match("GET", EVENTS)
    assert matched is not None
    request = Request(
        "GET", EVENTS, {}, CaseInsensitiveHeaders({}), b"", "https://x", matched[1], cal.sandbox
    )
    assert call_handler(matched[0].handler, request).status == 401


def test_readonly_scope_can_list_but_not_insert(cal: Harness) -> None:
    token = cal.token_for([READONLY])
    assert cal.call("GET", EVENTS, token=token)[0] == 200
    status, data = cal.call(
        "POST", EVENTS, timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"), token=token
    )
    assert status == 403 and error_reason(data) == "insufficientPermissions"


# -- event writes -------------------------------------------------------------------------------


def test_insert_answers_event_with_google_fields(cal: Harness) -> None:
    event = cal.insert(
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            summary="Intro",
            attendees=[{"email": "bob@example.org"}, {"email": OWNER}],
        )
    )
    assert event["kind"] == "calendar#event" and event["status"] == "confirmed"
    assert event["iCalUID"] == f"{event['id']}@google.com" and event["sequence"] == 0
    assert event["organizer"] == {"email": OWNER, "self": True}
    assert event["start"] == {"dateTime": "2024-03-04T10:00:00+01:00", "timeZone": "Europe/Paris"}
    assert event["attendees"][0] == {"email": "bob@example.org", "responseStatus": "needsAction"}
    assert event["attendees"][1]["self"] is True and event["attendees"][1]["organizer"] is True
    assert event["reminders"] == {"useDefault": True} and event["eventType"] == "default"
    assert event["htmlLink"].startswith("https://www.google.com/calendar/event?eid=")


def test_recurring_event_without_time_zone_is_refused(cal: Harness) -> None:
    status, data = cal.call(
        "POST",
        EVENTS,
        {
            "start": {"dateTime": "2024-03-04T10:00:00Z"},
            "end": {"dateTime": "2024-03-04T11:00:00Z"},
            "recurrence": ["RRULE:FREQ=DAILY"],
        },
    )
    assert (
        status == 400 and data["error"]["message"] == "Missing time zone definition for start time."
    )


def test_end_before_start_answers_time_range_empty(cal: Harness) -> None:
    status, data = cal.call("POST", EVENTS, timed("2024-03-04T10:00:00", "2024-03-04T09:00:00"))
    assert status == 400 and error_reason(data) == "timeRangeEmpty"


def test_invalid_recurrence_rule_answers_400(cal: Harness) -> None:
    status, data = cal.call(
        "POST",
        EVENTS,
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", recurrence=["RRULE:FREQ=SOMETIMES"]),
    )
    assert status == 400 and data["error"]["message"] == "Invalid recurrence rule."


def test_duplicate_event_id_answers_409(cal: Harness) -> None:
    body = timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", id="abcdef0123")
    cal.insert(body)
    status, data = cal.call("POST", EVENTS, body)
    assert status == 409 and error_reason(data) == "duplicate"


def test_event_id_outside_base32hex_is_refused(cal: Harness) -> None:
    status, _ = cal.call(
        "POST", EVENTS, timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", id="Not_Valid")
    )
    assert status == 400


def test_etag_changes_on_every_update(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="a"))
    first = cal.ok("PATCH", f"{EVENTS}/{event['id']}", {"summary": "b"})
    second = cal.ok("PATCH", f"{EVENTS}/{event['id']}", {"summary": "b"})
    assert len({event["etag"], first["etag"], second["etag"]}) == 3


def test_if_match_with_a_stale_etag_answers_412(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    cal.ok("PATCH", f"{EVENTS}/{event['id']}", {"summary": "changed"})
    status, data = cal.call(
        "PATCH", f"{EVENTS}/{event['id']}", {"summary": "mine"}, headers={"If-Match": event["etag"]}
    )
    assert status == 412 and error_reason(data) == "conditionNotMet"


def test_get_with_current_etag_in_if_none_match_answers_304(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    status, _ = cal.call("GET", f"{EVENTS}/{event['id']}", headers={"If-None-Match": event["etag"]})
    assert status == 304


def test_patch_merges_fields_and_update_replaces_them(cal: Harness) -> None:
    event = cal.insert(
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="s", description="d")
    )
    patched = cal.ok(
        "PATCH", f"{EVENTS}/{event['id']}", {"start": {"dateTime": "2024-03-04T09:30:00+01:00"}}
    )
    assert patched["description"] == "d" and patched["start"]["timeZone"] == "Europe/Paris"
    assert patched["sequence"] == 1  # a time change is significant
    replaced = cal.ok(
        "PUT",
        f"{EVENTS}/{event['id']}",
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", summary="only"),
    )
    assert "description" not in replaced and replaced["summary"] == "only"


def test_reminder_overrides_with_use_default_are_refused(cal: Harness) -> None:
    status, data = cal.call(
        "POST",
        EVENTS,
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            reminders={"useDefault": True, "overrides": [{"method": "popup", "minutes": 5}]},
        ),
    )
    assert status == 400 and error_reason(data) == "cannotUseDefaultRemindersAndSpecifyOverride"


def test_delete_keeps_a_cancelled_event_and_a_second_delete_answers_410(cal: Harness) -> None:
    event = cal.insert(timed("2024-03-04T10:00:00", "2024-03-04T11:00:00"))
    assert cal.call("DELETE", f"{EVENTS}/{event['id']}")[0] == 204
    assert cal.ok("GET", f"{EVENTS}/{event['id']}")["status"] == "cancelled"
    status, data = cal.call("DELETE", f"{EVENTS}/{event['id']}")
    assert status == 410 and error_reason(data) == "deleted"


# -- conference data ------------------------------------------------------------------------------


MEET_REQUEST = {
    "createRequest": {"requestId": "req-1", "conferenceSolutionKey": {"type": "hangoutsMeet"}}
}


def test_conference_create_request_is_ignored_without_conference_data_version(cal: Harness) -> None:
    event = cal.insert(
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", conferenceData=MEET_REQUEST)
    )
    assert "conferenceData" not in event and "hangoutLink" not in event


def test_conference_create_request_makes_a_meet_link(cal: Harness) -> None:
    event = cal.insert(
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", conferenceData=MEET_REQUEST),
        conferenceDataVersion=1,
    )
    conference = event["conferenceData"]
    assert conference["createRequest"]["status"] == {"statusCode": "success"}
    assert conference["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    video = conference["entryPoints"][0]
    assert video["entryPointType"] == "video" and event["hangoutLink"] == video["uri"]
    assert event["hangoutLink"].startswith("https://meet.google.com/")
    assert len(conference["conferenceId"]) == len("abc-defg-hij")


def test_same_conference_request_id_keeps_the_same_meeting(cal: Harness) -> None:
    event = cal.insert(
        timed("2024-03-04T10:00:00", "2024-03-04T11:00:00", conferenceData=MEET_REQUEST),
        conferenceDataVersion=1,
    )
    again = cal.ok(
        "PATCH",
        f"{EVENTS}/{event['id']}",
        {"conferenceData": MEET_REQUEST},
        query={"conferenceDataVersion": 1},
    )
    assert again["hangoutLink"] == event["hangoutLink"]
    plain = cal.ok("PATCH", f"{EVENTS}/{event['id']}", {"summary": "kept"})
    assert plain["hangoutLink"] == event["hangoutLink"]


def test_unsupported_conference_type_is_refused(cal: Harness) -> None:
    status, _ = cal.call(
        "POST",
        EVENTS,
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            conferenceData={
                "createRequest": {
                    "requestId": "x",
                    "conferenceSolutionKey": {"type": "eventHangout"},
                }
            },
        ),
        query={"conferenceDataVersion": 1},
    )
    assert status == 400
