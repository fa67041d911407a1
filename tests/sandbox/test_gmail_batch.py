"""The Gmail batch endpoint, driven by googleapiclient's BatchHttpRequest with ``batch_uri``."""

from __future__ import annotations

import time
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.discovery_schema import assert_schema
from tests.sandbox.gmail_harness import Mailboxes, gmail_batch, tls_session, two_mailboxes


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox, fill=200)


def message_ids(gmail: Any, count: int) -> list[str]:
    answer = gmail.users().messages().list(userId="me", maxResults=count).execute()
    return [m["id"] for m in answer["messages"]]


class Collector:
    def __init__(self) -> None:
        self.responses: dict[str, Any] = {}
        self.errors: dict[str, HttpError] = {}

    def __call__(self, request_id: str, response: Any, exception: HttpError | None) -> None:
        if exception is not None:
            self.errors[request_id] = exception
        else:
            self.responses[request_id] = response


def test_batch_of_fifty_full_gets_answers_each_call(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    ids = message_ids(gmail, 50)
    collected = Collector()
    batch = gmail_batch(boxes.sandbox, collected)
    for message_id in ids:
        batch.add(
            gmail.users().messages().get(userId="me", id=message_id, format="full"),
            request_id=message_id,
        )
    batch.execute()
    assert not collected.errors
    assert set(collected.responses) == set(ids)
    for message_id, message in collected.responses.items():
        assert message["id"] == message_id
        assert_schema("gmail.v1", "Message", message)
    single = gmail.users().messages().get(userId="me", id=ids[0]).execute()
    assert collected.responses[ids[0]] == single


def test_a_failing_part_fails_alone(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    ids = message_ids(gmail, 3)
    collected = Collector()
    batch = gmail_batch(boxes.sandbox, collected)
    for message_id in [*ids, "18c0ffee00000000"]:
        batch.add(
            gmail.users().messages().get(userId="me", id=message_id, format="minimal"),
            request_id=message_id,
        )
    batch.add(
        gmail.users().messages().modify(userId="me", id=ids[0], body={"addLabelIds": ["STARRED"]}),
        request_id="modify",
    )
    batch.execute()
    assert set(collected.responses) == {*ids, "modify"}
    assert collected.errors["18c0ffee00000000"].status_code == 404
    assert "STARRED" in collected.responses["modify"]["labelIds"]


def test_more_than_100_calls_answer_400(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = message_ids(gmail, 1)[0]
    batch = gmail_batch(boxes.sandbox)
    for _ in range(101):
        batch.add(gmail.users().messages().get(userId="me", id=message_id, format="minimal"))
    with pytest.raises(HttpError) as error:
        batch.execute()
    assert error.value.status_code == 400


def raw_batch(calls: list[tuple[str, str | None]]) -> bytes:
    parts = []
    for number, (path, token) in enumerate(calls, start=1):
        parts.append(
            f"--xyz\r\nContent-Type: application/http\r\nContent-ID: <item{number}>\r\n"
            f"\r\nGET {path} HTTP/1.1\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
    return ("".join(parts) + "--xyz--\r\n").encode()


def test_each_inner_call_is_authenticated_on_its_own(boxes: Mailboxes) -> None:
    body = raw_batch(
        [
            ("/gmail/v1/users/me/profile", boxes.ana.token),
            ("/gmail/v1/users/me/profile", "ya29.not-a-token"),
        ]
    )
    answer = tls_session(boxes.sandbox).post(
        f"{boxes.sandbox.google_base_url}/batch",
        data=body,
        headers={"Content-Type": "multipart/mixed; boundary=xyz"},
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("multipart/mixed; boundary=")
    text = answer.text
    assert "Content-ID: <response-item1>" in text and "Content-ID: <response-item2>" in text
    first, second = text.split("Content-ID: <response-item2>")
    assert "HTTP/1.1 200 OK" in first and "ana@acme.test" in first
    assert "HTTP/1.1 401 Unauthorized" in second and "UNAUTHENTICATED" in second


def test_batch_calls_are_charged_to_the_quota_one_by_one(sandbox: SandboxClient) -> None:
    boxes = two_mailboxes(sandbox, fill=60, quota=True)
    gmail = boxes.service()
    ids = message_ids(gmail, 51)  # messages.list costs 5 units of the 250 available
    time.sleep(1.05)  # let the list call leave the one-second window
    collected = Collector()
    batch = gmail_batch(sandbox, collected)
    for message_id in ids:
        batch.add(gmail.users().messages().get(userId="me", id=message_id), request_id=message_id)
    batch.execute()
    assert len(collected.responses) == 50  # 50 x 5 units fill the window
    refused = list(collected.errors.values())
    assert len(refused) == 1 and refused[0].status_code == 429


def test_inner_calls_are_logged_under_their_route_names(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    ids = message_ids(gmail, 3)
    since = boxes.sandbox.last_request_seq()
    batch = gmail_batch(boxes.sandbox)
    for message_id in ids:
        batch.add(gmail.users().messages().get(userId="me", id=message_id))
    batch.execute()
    logged = boxes.sandbox.requests_log(since=since, route="gmail.users.messages.get")
    assert len(logged) == 3 and all(entry["user"] == "ana@acme.test" for entry in logged)


def test_a_raw_fifty_call_batch_of_full_gets_answers_every_part(boxes: Mailboxes) -> None:
    # Speed is measured by benchmarks/sandbox_serve.py, never asserted here.
    ids = message_ids(boxes.service(), 50)
    assert len(ids) == 50
    session = tls_session(boxes.sandbox)
    url = f"{boxes.sandbox.google_base_url}/batch/gmail/v1"
    body = raw_batch(
        [
            (f"/google/gmail/v1/users/me/messages/{i}?format=full&alt=json", boxes.ana.token)
            for i in ids
        ]
    )
    answer = session.post(url, data=body, headers={"Content-Type": "multipart/mixed; boundary=xyz"})
    assert answer.status_code == 200 and answer.text.count("HTTP/1.1 200 OK") == 50


def test_faults_on_an_inner_route_answer_their_part_alone_and_are_logged(
    boxes: Mailboxes,
) -> None:
    gmail = boxes.service()
    ids = message_ids(gmail, 3)
    unavailable, reset = boxes.sandbox.add_faults(
        [
            {"route": "gmail.users.messages.get", "status": 503, "times": 1},
            {"route": "gmail.users.messages.get", "reset": True, "times": 1},
        ]
    )
    since = boxes.sandbox.last_request_seq()
    collected = Collector()
    batch = gmail_batch(boxes.sandbox, collected)
    for message_id in ids:
        batch.add(gmail.users().messages().get(userId="me", id=message_id), request_id=message_id)
    batch.execute()

    assert [collected.errors[i].status_code for i in ids[:2]] == [503, 504]
    assert list(collected.responses) == [ids[2]]
    logged = boxes.sandbox.requests_log(since=since, route="gmail.users.messages.get")
    assert [entry["faults"] for entry in logged] == [[unavailable["id"]], [reset["id"]], []]
    assert all(entry["batch"] for entry in logged)
