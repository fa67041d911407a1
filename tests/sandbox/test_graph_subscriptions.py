"""Graph change notifications: the validation handshake and notifications to a local listener."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.graph_harness import graph_for, rfc822, seed_directory


class Listener:
    """A webhook endpoint on 127.0.0.1 that echoes validation tokens and queues notifications."""

    def __init__(self, *, echo: bool = True) -> None:
        self.echo = echo
        self.validations: list[str] = []
        self.notifications: queue.Queue[dict] = queue.Queue()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token:
                    listener.validations.append(token[0])
                    answer = token[0].encode() if listener.echo else b"nope"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                listener.notifications.put(json.loads(body))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/graph"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    endpoint = Listener()
    try:
        yield endpoint
    finally:
        endpoint.close()


def _expiry(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _subscribe(
    graph,
    url: str,
    resource: str = "me/mailFolders('Inbox')/messages",
    minutes: int = 4000,
    **extra,
):
    return graph.post(
        "subscriptions",
        json={
            "changeType": "created,updated,deleted",
            "notificationUrl": url,
            "resource": resource,
            "expirationDateTime": _expiry(minutes),
            "clientState": "liaison-secret",
            **extra,
        },
    )


def test_subscription_handshake_then_notification_with_client_state(sandbox, listener):
    directory = seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    created = _subscribe(graph, listener.url)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert listener.validations and listener.validations[0].startswith("Validation: ")
    assert subscription["changeType"] == "created,updated,deleted"
    delivered = sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(sender="carol@partner.test", to="alice@contoso.test", subject="ping"),
    )
    note = listener.notifications.get(timeout=10)["value"][0]
    assert note["subscriptionId"] == subscription["id"]
    assert note["clientState"] == "liaison-secret" and note["changeType"] == "created"
    assert note["tenantId"] == directory.tenant_id
    assert note["resourceData"]["id"] == delivered["id"]
    assert note["resource"] == f"Users/{directory.alice['id']}/Messages/{delivered['id']}"
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Message"


def test_changes_outside_the_subscribed_folder_do_not_notify(sandbox, listener):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    assert _subscribe(graph, listener.url).status_code == 201
    sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(sender="c@partner.test", to="alice@contoso.test", subject="archived"),
        folder="archive",
    )
    sandbox.microsoft.deliver(
        "alice@contoso.test",
        rfc822(sender="c@partner.test", to="alice@contoso.test", subject="inbox"),
    )
    note = listener.notifications.get(timeout=10)["value"][0]
    assert note["changeType"] == "created"
    assert listener.notifications.empty()


def test_endpoint_that_does_not_echo_the_token_fails_validation(sandbox):
    seed_directory(sandbox)
    endpoint = Listener(echo=False)
    try:
        response = _subscribe(graph_for(sandbox, "alice@contoso.test"), endpoint.url)
    finally:
        endpoint.close()
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"
    assert "Subscription validation request failed" in response.json()["error"]["message"]


def test_expiration_beyond_10080_minutes_is_rejected(sandbox, listener):
    seed_directory(sandbox)
    response = _subscribe(graph_for(sandbox, "alice@contoso.test"), listener.url, minutes=10200)
    assert response.status_code == 400
    assert "10080 minutes" in response.json()["error"]["message"]


def test_renew_and_delete_a_subscription(sandbox, listener):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    subscription = _subscribe(graph, listener.url, resource="me/events").json()
    later = _expiry(9000)
    renewed = graph.patch(f"subscriptions/{subscription['id']}", json={"expirationDateTime": later})
    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"][:16] == later[:16]
    assert graph.delete(f"subscriptions/{subscription['id']}").status_code == 204
    assert graph.get(f"subscriptions/{subscription['id']}").status_code == 404


def test_event_subscription_notifies_on_a_new_event(sandbox, listener):
    seed_directory(sandbox)
    graph = graph_for(sandbox, "alice@contoso.test")
    assert _subscribe(graph, listener.url, resource="/me/events").status_code == 201
    event = graph.post(
        "me/events",
        json={
            "subject": "Call",
            "start": {"dateTime": "2025-05-05T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2025-05-05T10:30:00", "timeZone": "UTC"},
        },
    ).json()
    note = listener.notifications.get(timeout=10)["value"][0]
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
    assert note["resourceData"]["id"] == event["id"] and note["changeType"] == "created"


def test_public_http_notification_url_is_rejected(sandbox):
    seed_directory(sandbox)
    response = _subscribe(
        graph_for(sandbox, "alice@contoso.test"), "http://hooks.example.test/graph"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"
