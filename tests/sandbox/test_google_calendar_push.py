"""Calendar push end to end: events.watch notifications reach a local HTTP receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integrations.sandbox.client import SandboxClient
from tests.sandbox.calendar_client import calendar_service, paris
from tests.sandbox.discovery_schema import assert_schema


@pytest.fixture
def calendar(sandbox: SandboxClient) -> Any:
    return calendar_service(sandbox)


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []
    arrived = threading.Event()

    def do_POST(self) -> None:
        self.received.append({k.lower(): v for k, v in self.headers.items()})
        self.arrived.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "arrived": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/calendar-push", handler
    finally:
        server.shutdown()
        server.server_close()


def wait_for(handler: type[_Receiver], count: int) -> list[dict[str, str]]:
    for _ in range(100):
        if len(handler.received) >= count:
            break
        handler.arrived.wait(0.1)
        handler.arrived.clear()
    return handler.received


def test_watch_notifications_reach_a_local_receiver(
    calendar: Any, receiver: tuple[str, type[_Receiver]]
) -> None:
    address, handler = receiver
    channel = (
        calendar.events()
        .watch(
            calendarId="primary",
            body={
                "id": "liaison-chan-1",
                "type": "web_hook",
                "address": address,
                "token": "mailbox=42",
            },
        )
        .execute()
    )
    assert_schema("calendar.v3", "Channel", channel)
    calendar.events().insert(
        calendarId="primary",
        body={"start": paris("2024-03-08T10:00:00"), "end": paris("2024-03-08T10:30:00")},
    ).execute()
    # Deliveries run in parallel, as Google's do: the message number gives the order.
    received = sorted(wait_for(handler, 2), key=lambda m: int(m["x-goog-message-number"]))
    assert [(m["x-goog-resource-state"], m["x-goog-message-number"]) for m in received] == [
        ("sync", "1"),
        ("exists", "2"),
    ]
    assert received[1]["x-goog-channel-id"] == "liaison-chan-1"
    assert received[1]["x-goog-channel-token"] == "mailbox=42"
    assert received[1]["x-goog-resource-id"] == channel["resourceId"]
    calendar.channels().stop(
        body={"id": channel["id"], "resourceId": channel["resourceId"]}
    ).execute()
