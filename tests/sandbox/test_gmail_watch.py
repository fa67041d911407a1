"""Gmail watch/stop and the Pub/Sub-shaped push the sandbox delivers to a registered endpoint."""

from __future__ import annotations

import base64
import json
import queue
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from google.oauth2 import id_token
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    ANA,
    BEN,
    Mailboxes,
    auth_request,
    encoded,
    raw_message,
    two_mailboxes,
)

TOPIC = "projects/liaison-test/topics/gmail"


class PushReceiver:
    """A local HTTP endpoint standing in for the app's Pub/Sub push handler."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.put(
                    {"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))}
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/gmail/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)

    def nothing_within(self, seconds: float) -> bool:
        try:
            self.received.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[PushReceiver]:
    server = PushReceiver()
    yield server
    server.close()


@pytest.fixture
def boxes(sandbox: SandboxClient, receiver: PushReceiver) -> Mailboxes:
    boxes = two_mailboxes(sandbox)
    sandbox.call(
        "POST", "/google/push-endpoints", json={"topicName": TOPIC, "pushEndpoint": receiver.url}
    )
    return boxes


def deliver(sandbox: SandboxClient, subject: str = "Ping") -> str:
    return sandbox.google.deliver(ANA, raw_message(sender="x@o.test", to=ANA, subject=subject))[
        "id"
    ]


def notification_data(push: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(push["body"]["message"]["data"]))


def test_watch_answers_the_history_id_and_a_seven_day_expiration(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    answer = gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    profile = gmail.users().getProfile(userId="me").execute()
    assert answer["historyId"] == profile["historyId"]
    now_ms = datetime.fromisoformat(boxes.sandbox.now()).timestamp() * 1000
    seven_days_ms = 7 * 24 * 3600 * 1000
    assert abs(int(answer["expiration"]) - (now_ms + seven_days_ms)) < 5000


def test_watch_needs_an_existing_topic(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    with pytest.raises(HttpError) as missing:
        gmail.users().watch(
            userId="me", body={"topicName": "projects/liaison-test/topics/nope"}
        ).execute()
    assert missing.value.status_code == 404
    with pytest.raises(HttpError) as malformed:
        gmail.users().watch(userId="me", body={"topicName": "gmail"}).execute()
    assert malformed.value.status_code == 400


def test_a_mailbox_change_pushes_a_pubsub_message_with_a_verifiable_jwt(
    boxes: Mailboxes, receiver: PushReceiver
) -> None:
    gmail = boxes.service()
    gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    deliver(boxes.sandbox)
    push = receiver.next()
    body = push["body"]
    assert body["subscription"] == "projects/liaison-test/subscriptions/gmail-push"
    assert body["message"]["messageId"] == body["message"]["message_id"]
    data = notification_data(push)
    assert data == {
        "emailAddress": ANA,
        "historyId": int(gmail.users().getProfile(userId="me").execute()["historyId"]),
    }
    scheme, _, token = push["headers"]["Authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = id_token.verify_token(
        token,
        auth_request(boxes.sandbox),
        audience=receiver.url,
        certs_url=f"{boxes.sandbox.google_base_url}/oauth2/v3/certs",
    )
    assert claims["email"] == "gmail-push@liaison-test.iam.gserviceaccount.com"
    assert claims["email_verified"] is True


def test_sent_mail_notifies_the_recipients_watch(boxes: Mailboxes, receiver: PushReceiver) -> None:
    boxes.service(boxes.ana).users().watch(userId="me", body={"topicName": TOPIC}).execute()
    raw = raw_message(sender=BEN, to=ANA, subject="From Ben")
    boxes.service(boxes.ben).users().messages().send(
        userId="me", body={"raw": encoded(raw)}
    ).execute()
    assert notification_data(receiver.next())["emailAddress"] == ANA


def test_label_filter_include_pushes_only_for_those_labels(
    boxes: Mailboxes, receiver: PushReceiver
) -> None:
    gmail = boxes.service()
    gmail.users().watch(
        userId="me",
        body={"topicName": TOPIC, "labelIds": ["STARRED"], "labelFilterBehavior": "include"},
    ).execute()
    message_id = deliver(boxes.sandbox)
    assert receiver.nothing_within(0.5)
    gmail.users().messages().modify(
        userId="me", id=message_id, body={"addLabelIds": ["STARRED"]}
    ).execute()
    assert notification_data(receiver.next())["emailAddress"] == ANA


def test_stop_ends_notifications(boxes: Mailboxes, receiver: PushReceiver) -> None:
    gmail = boxes.service()
    gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    gmail.users().stop(userId="me").execute()
    deliver(boxes.sandbox)
    assert receiver.nothing_within(0.5)


def test_an_expired_watch_sends_nothing(boxes: Mailboxes, receiver: PushReceiver) -> None:
    boxes.service().users().watch(userId="me", body={"topicName": TOPIC}).execute()
    boxes.sandbox.advance_clock(7 * 24 * 3600 + 1)
    deliver(boxes.sandbox)
    assert receiver.nothing_within(0.5)
