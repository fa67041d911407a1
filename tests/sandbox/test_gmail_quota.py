"""Gmail's per-user quota: method costs in units, a one-second moving window, Gmail's 429."""

from __future__ import annotations

import time
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import ANA, BEN, Mailboxes, tls_session, two_mailboxes


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    boxes = two_mailboxes(sandbox, fill=10, quota=True)
    sandbox.set_config(gmail_quota_units_per_second=20)  # four messages.get per second
    time.sleep(1.05)  # start every test with an empty window
    return boxes


def get_first(boxes: Mailboxes, token: str, message_id: str) -> Any:
    return tls_session(boxes.sandbox).get(
        f"{boxes.sandbox.google_base_url}/gmail/v1/users/me/messages/{message_id}",
        headers={"Authorization": f"Bearer {token}"},
    )


def some_message(sandbox: SandboxClient) -> str:
    return sandbox.google.messages(ANA)["messages"][0]["id"]


def test_exceeding_the_quota_answers_gmails_429_rate_limit_exceeded(boxes: Mailboxes) -> None:
    message_id = some_message(boxes.sandbox)
    statuses = [get_first(boxes, boxes.ana.token, message_id).status_code for _ in range(4)]
    assert statuses == [200] * 4
    refused = get_first(boxes, boxes.ana.token, message_id)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["errors"][0]["domain"] == "usageLimits"
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert error["message"].startswith("User-rate limit exceeded.  Retry after ")


def test_quota_recovers_once_the_window_has_passed(boxes: Mailboxes) -> None:
    message_id = some_message(boxes.sandbox)
    for _ in range(5):
        last = get_first(boxes, boxes.ana.token, message_id)
    assert last.status_code == 429
    time.sleep(1.05)
    assert get_first(boxes, boxes.ana.token, message_id).status_code == 200


def test_quota_is_counted_per_user(boxes: Mailboxes) -> None:
    message_id = some_message(boxes.sandbox)
    for _ in range(5):
        get_first(boxes, boxes.ana.token, message_id)
    profile = boxes.service(boxes.ben).users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == BEN


def test_googleapiclient_sees_the_429_as_an_http_error(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = some_message(boxes.sandbox)
    with pytest.raises(HttpError) as error:
        for _ in range(5):
            gmail.users().messages().get(userId="me", id=message_id).execute()
    assert error.value.status_code == 429
    assert error.value.error_details[0]["reason"] == "rateLimitExceeded"


def test_quota_snapshot_reports_units_used_and_refusals(boxes: Mailboxes) -> None:
    message_id = some_message(boxes.sandbox)
    for _ in range(5):
        get_first(boxes, boxes.ana.token, message_id)
    usage = boxes.sandbox.quotas()["google"]["gmail"]["users"][ANA]
    assert usage["units_in_window"] == 20
    assert usage["calls_refused"] == 1
    assert usage["units_used"] >= 20


def test_no_quota_when_the_limit_is_none(boxes: Mailboxes) -> None:
    boxes.sandbox.set_config(gmail_quota_units_per_second=None)
    message_id = some_message(boxes.sandbox)
    statuses = {get_first(boxes, boxes.ana.token, message_id).status_code for _ in range(10)}
    assert statuses == {200}
