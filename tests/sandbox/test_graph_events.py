"""Graph events, calendarView with recurrence expansion, and calendarView delta."""

from __future__ import annotations

from tests.sandbox.graph_harness import graph_for, seed_directory

WINDOW = {"startDateTime": "2025-03-01T00:00:00Z", "endDateTime": "2025-03-22T00:00:00Z"}
WEEKLY = {
    "subject": "Pipeline review",
    "body": {"contentType": "HTML", "content": "<p>Bring numbers</p>"},
    "start": {"dateTime": "2025-03-03T10:00:00", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2025-03-03T10:45:00", "timeZone": "W. Europe Standard Time"},
    "attendees": [
        {"emailAddress": {"address": "bob@contoso.test", "name": "Bob Baker"}, "type": "required"}
    ],
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2025-03-03", "numberOfOccurrences": 10},
    },
}


def _view(graph, **params) -> list[dict]:
    response = graph.get("me/calendarView", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_create_event_then_get_it_back(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    created = graph.post("me/events", json={**WEEKLY, "recurrence": None})
    assert created.status_code == 201
    event = graph.get(f"me/events/{created.json()['id']}").json()
    assert event["type"] == "singleInstance" and event["isOrganizer"] is True
    assert event["start"] == {"dateTime": "2025-03-03T09:00:00.0000000", "timeZone": "UTC"}
    assert event["organizer"]["emailAddress"]["address"] == "alice@contoso.test"
    assert event["attendees"][0]["status"]["response"] == "none"


def test_calendar_view_expands_a_weekly_series_into_occurrences(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    master = graph.post("me/events", json=WEEKLY).json()
    assert master["type"] == "seriesMaster"
    occurrences = _view(graph)
    assert [o["start"]["dateTime"][:16] for o in occurrences] == [
        "2025-03-03T09:00",
        "2025-03-10T09:00",
        "2025-03-17T09:00",
    ]
    assert {o["type"] for o in occurrences} == {"occurrence"}
    assert {o["seriesMasterId"] for o in occurrences} == {master["id"]}
    assert len({o["id"] for o in occurrences}) == 3


def test_daylight_saving_keeps_local_time_of_a_series(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    graph.post("me/events", json=WEEKLY)
    later = _view(graph, startDateTime="2025-03-24T00:00:00Z", endDateTime="2025-04-08T00:00:00Z")
    # Berlin moves to summer time on 30 March: 10:00 local becomes 08:00 UTC.
    assert [o["start"]["dateTime"][:16] for o in later] == [
        "2025-03-24T09:00",
        "2025-03-31T08:00",
        "2025-04-07T08:00",
    ]


def test_prefer_outlook_timezone_renders_times_in_that_zone(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    graph.post("me/events", json=WEEKLY)
    response = graph.get(
        "me/calendarView",
        params=WINDOW,
        headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
    )
    first = response.json()["value"][0]
    assert first["start"] == {
        "dateTime": "2025-03-03T01:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert response.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'


def test_deleting_one_occurrence_removes_it_from_the_view(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    graph.post("me/events", json=WEEKLY)
    second = _view(graph)[1]
    assert graph.delete(f"me/events/{second['id']}").status_code == 204
    assert second["id"] not in [o["id"] for o in _view(graph)]
    assert len(_view(graph)) == 2


def test_calendar_view_needs_a_time_window(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").get("me/calendarView")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ErrorInvalidParameter"


def test_calendar_view_delta_initial_then_changes(sandbox):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    master = graph.post("me/events", json=WEEKLY).json()
    entries, delta_link = graph.delta_round("me/calendarView/delta", params=WINDOW)
    assert len(entries) == 3
    first_occurrence = entries[0]["id"]
    assert graph.delete(f"me/events/{first_occurrence}").status_code == 204
    single = graph.post(
        "me/events",
        json={
            **WEEKLY,
            "subject": "One-off",
            "recurrence": None,
            "start": {"dateTime": "2025-03-05T15:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2025-03-05T16:00:00", "timeZone": "UTC"},
        },
    ).json()
    changes, next_link = graph.delta_round(delta_link)
    removed = [e["id"] for e in changes if "@removed" in e]
    updated = {e["id"]: e for e in changes if "@removed" not in e}
    assert removed == [first_occurrence]
    assert single["id"] in updated and updated[single["id"]]["subject"] == "One-off"
    assert all(e.get("seriesMasterId") in (None, master["id"]) for e in updated.values())
    assert graph.delete(f"me/events/{master['id']}").status_code == 204
    gone, _ = graph.delta_round(next_link)
    assert len([e for e in gone if "@removed" in e]) == 2


def test_calendar_view_delta_rejects_select(sandbox):
    seed_directory(sandbox)
    response = graph_for(sandbox, "alice@contoso.test").get(
        "me/calendarView/delta", params={**WINDOW, "$select": "subject"}
    )
    assert response.status_code == 400


def test_filled_calendar_has_a_series_with_a_skipped_and_a_moved_week(sandbox):
    seed_directory(sandbox)
    sandbox.microsoft.fill("alice@contoso.test", seed=5, count=0, events=12)
    graph = graph_for(sandbox, "alice@contoso.test")
    events = graph.get("me/events", params={"$top": 50}).json()["value"]
    masters = [e for e in events if e["type"] == "seriesMaster"]
    assert masters and masters[0]["recurrence"]["pattern"]["type"] == "weekly"
    now = sandbox.now()[:10]
    instances = graph.get(
        f"me/events/{masters[0]['id']}/instances",
        params={
            "startDateTime": "2000-01-01T00:00:00Z",
            "endDateTime": f"{now}T00:00:00Z",
            "$top": 50,
        },
    ).json()["value"]
    types = [i["type"] for i in instances]
    assert "exception" in types
    assert all(i["seriesMasterId"] == masters[0]["id"] for i in instances)


def test_responding_to_an_invitation_sets_the_attendee_status(sandbox):
    seed_directory(sandbox)
    invite = sandbox.microsoft.create_event(
        "alice@contoso.test",
        {
            **{k: WEEKLY[k] for k in ("subject", "start", "end")},
            "organizer": {"emailAddress": {"name": "Bob Baker", "address": "bob@contoso.test"}},
            "attendees": [{"emailAddress": {"address": "alice@contoso.test", "name": "Alice"}}],
        },
    )
    graph = graph_for(sandbox, "alice@contoso.test")
    assert graph.post(f"me/events/{invite['id']}/accept", json={"comment": "ok"}).status_code == 202
    event = graph.get(f"me/events/{invite['id']}").json()
    assert event["isOrganizer"] is False
    assert event["responseStatus"]["response"] == "accepted"
    cancelled = sandbox.microsoft.cancel_event("alice@contoso.test", invite["id"])
    assert cancelled["isCancelled"] is True
    assert graph.get(f"me/events/{invite['id']}").json()["isCancelled"] is True
