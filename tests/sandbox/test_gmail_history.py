"""Gmail users.history.list: change records, filters, paging and expiry (404 → full sync)."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.discovery_schema import assert_schema
from tests.sandbox.gmail_harness import ANA, Mailboxes, raw_message, two_mailboxes

WEEK = 7 * 24 * 3600


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox, fill=20)


def current_history_id(gmail: Any) -> str:
    return gmail.users().getProfile(userId="me").execute()["historyId"]


def deliver(sandbox: SandboxClient, subject: str) -> str:
    return sandbox.google.deliver(ANA, raw_message(sender="x@o.test", to=ANA, subject=subject))[
        "id"
    ]


def history(gmail: Any, start: str, **query: Any) -> dict[str, Any]:
    answer = gmail.users().history().list(userId="me", startHistoryId=start, **query).execute()
    assert_schema("gmail.v1", "ListHistoryResponse", answer)
    return answer


def test_history_records_every_kind_of_change_in_order(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    message_id = deliver(boxes.sandbox, "New deal")
    gmail.users().messages().modify(
        userId="me", id=message_id, body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}
    ).execute()
    gmail.users().messages().delete(userId="me", id=message_id).execute()
    answer = history(gmail, start)
    records = answer["history"]
    kinds = [next(k for k in r if k not in ("id", "messages")) for r in records]
    assert kinds == ["messagesAdded", "labelsAdded", "labelsRemoved", "messagesDeleted"]
    ids = [int(r["id"]) for r in records]
    assert ids == sorted(set(ids)) and ids[0] > int(start)
    assert answer["historyId"] == current_history_id(gmail) == records[-1]["id"]
    assert records[0]["messagesAdded"][0]["message"]["labelIds"] == [
        "INBOX",
        "UNREAD",
        "CATEGORY_PERSONAL",
    ]
    assert records[1]["labelsAdded"][0]["labelIds"] == ["STARRED"]
    assert all(r["messages"] == [{"id": message_id, "threadId": message_id}] for r in records)


def test_no_changes_answers_only_the_current_history_id(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    assert history(gmail, start) == {"historyId": start}


def test_history_types_and_label_id_filter_records(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    kept = deliver(boxes.sandbox, "One")
    other = deliver(boxes.sandbox, "Two")
    gmail.users().messages().modify(
        userId="me", id=other, body={"addLabelIds": ["STARRED"]}
    ).execute()
    added = history(gmail, start, historyTypes=["messageAdded"])["history"]
    assert [r["messagesAdded"][0]["message"]["id"] for r in added] == [kept, other]
    starred = history(gmail, start, labelId="STARRED")["history"]
    assert [r["messages"][0]["id"] for r in starred] == [other]


def test_history_pages_with_next_page_token(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    delivered = [deliver(boxes.sandbox, f"Mail {n}") for n in range(5)]
    first = history(gmail, start, maxResults=2)
    assert len(first["history"]) == 2 and first["nextPageToken"]
    seen = [r["messages"][0]["id"] for r in first["history"]]
    token = first["nextPageToken"]
    while token:
        page = history(gmail, start, maxResults=2, pageToken=token)
        seen += [r["messages"][0]["id"] for r in page["history"]]
        token = page.get("nextPageToken")
    assert seen == delivered


def test_expired_history_id_answers_404(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    deliver(boxes.sandbox, "Before expiry")
    boxes.sandbox.google.expire_history(ANA)
    with pytest.raises(HttpError) as error:
        history(gmail, start)
    assert error.value.status_code == 404
    assert error.value.error_details[0]["reason"] == "notFound"
    fresh = current_history_id(gmail)
    assert history(gmail, fresh) == {"historyId": fresh}


def test_history_older_than_the_retention_window_answers_404(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = current_history_id(gmail)
    deliver(boxes.sandbox, "Old news")
    kept_from = current_history_id(gmail)
    boxes.sandbox.advance_clock(WEEK + 60)  # the access token expires too: AuthorizedHttp refreshes
    latest = deliver(boxes.sandbox, "New news")
    with pytest.raises(HttpError) as error:
        history(gmail, start)
    assert error.value.status_code == 404
    records = history(gmail, kept_from)["history"]
    assert [r["messages"][0]["id"] for r in records] == [latest]
