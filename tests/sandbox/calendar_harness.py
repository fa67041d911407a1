"""A Calendar test harness: one in-memory ``Sandbox`` and handlers called with ``Request``s.

Shared by the ``test_google_calendar_*`` modules that pin the API's rules without a server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

from integrations.sandbox.dispatch import call_handler
from integrations.sandbox.google import calendar_api  # noqa: F401 - registers the routes
from integrations.sandbox.google.calendar_state import CalendarStore
from integrations.sandbox.http import CaseInsensitiveHeaders, Request, router
from integrations.sandbox.state import Sandbox, SandboxConfig

OWNER = "alice@example.com"
FULL = "https://www.googleapis.com/auth/calendar"
READONLY = "https://www.googleapis.com/auth/calendar.readonly"
EVENTS = "/google/calendar/v3/calendars/primary/events"


class Harness:
    def __init__(self) -> None:
        self.sandbox = Sandbox(SandboxConfig())
        self.sent: list[dict[str, Any]] = []
        self.sandbox.notify = self._record
        now = self.sandbox.now().timestamp()
        self.sandbox.google.add_user(OWNER, "Alice", now)
        self.token = self.token_for([FULL])

    def _record(self, url: str, *, headers: dict[str, str], body: Any) -> None:
        self.sent.append({"url": url, "headers": headers})

    def token_for(self, scopes: list[str]) -> str:
        now = self.sandbox.now().timestamp()
        return self.sandbox.google.oauth.issue_access_token(OWNER, "client", scopes, now).token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> tuple[int, Any]:
        matched = router.match(method, path)
        assert matched is not None, f"no route for {method} {path}"
        route, params = matched
        all_headers = {"Authorization": f"Bearer {token or self.token}", **(headers or {})}
        request = Request(
            method=method,
            path=path,
            query=parse_qs(urlencode(query or {}, doseq=True), keep_blank_values=True),
            headers=CaseInsensitiveHeaders(all_headers),
            body=json.dumps(body).encode() if body is not None else b"",
            base_url="https://127.0.0.1:9",
            params=params,
            sandbox=self.sandbox,
        )
        response = call_handler(route.handler, request)
        return response.status, json.loads(response.body) if response.body else None

    def ok(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        status, data = self.call(method, path, body, **kwargs)
        assert status in (200, 204), (status, data)
        return data

    def insert(self, body: dict[str, Any], **query: Any) -> dict[str, Any]:
        return self.ok("POST", EVENTS, body, query=query)

    def list(self, **query: Any) -> dict[str, Any]:
        return self.ok("GET", EVENTS, query=query)

    @property
    def store(self) -> CalendarStore:
        return self.sandbox.google.user(OWNER).calendar


def running_harness() -> Iterator[Harness]:
    """Body of each module's ``cal`` fixture: a fresh harness, closed afterwards."""
    harness = Harness()
    yield harness
    harness.sandbox.close()


def timed(start: str, end: str, zone: str = "Europe/Paris", **extra: Any) -> dict[str, Any]:
    return {
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        **extra,
    }


def weekly_series(cal: Harness, **extra: Any) -> dict[str, Any]:
    """Mondays 10:00 Paris from 2024-03-04, five times, the 11th excluded."""
    return cal.insert(
        timed(
            "2024-03-04T10:00:00",
            "2024-03-04T11:00:00",
            summary="Weekly sync",
            recurrence=["RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;TZID=Europe/Paris:20240311T100000"],
            **extra,
        )
    )


def error_reason(data: dict[str, Any]) -> str:
    return data["error"]["errors"][0]["reason"]
