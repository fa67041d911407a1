"""The ``/_sandbox/google/...`` control routes for users, clients, grants, mail and push."""

from __future__ import annotations

import pytest

from integrations.sandbox.client import SandboxClient, SandboxError
from tests.sandbox.gmail_harness import (
    ANA,
    CLIENT_ID,
    MAIL,
    Mailboxes,
    raw_message,
    tls_session,
    two_mailboxes,
)


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox)


def test_creating_a_user_twice_keeps_one_user(sandbox: SandboxClient) -> None:
    sandbox.google.create_user(ANA, "Ana")
    sandbox.google.create_user(ANA.upper(), "Ana Ruiz")
    users = sandbox.google.users()["users"]
    assert [(u["email"], u["name"]) for u in users] == [(ANA, "Ana Ruiz")]


def test_fill_answers_message_and_event_counts(boxes: Mailboxes) -> None:
    counts = boxes.sandbox.google.fill(ANA, seed=11, count=40, events=6)
    assert counts["messages"] == 40
    assert counts["events"] > 0
    assert len(boxes.sandbox.google.messages(ANA)["messages"]) == 40


def test_delivered_raw_text_is_stored_and_dumped_with_its_message_id(boxes: Mailboxes) -> None:
    text = raw_message(
        sender="x@o.test", to=ANA, subject="Typed", message_id="<typed@o.test>"
    ).decode()
    delivered = boxes.sandbox.google.deliver(
        ANA, text, label_ids=["INBOX"], internal_date="2024-01-02T03:04:05Z"
    )
    dump = boxes.sandbox.google.messages(ANA)["messages"]
    assert dump == [
        {
            "id": delivered["id"],
            "threadId": delivered["id"],
            "labelIds": ["INBOX"],
            "rfc822msgid": "<typed@o.test>",
            "internalDate": "1704164645000",
            "historyId": dump[0]["historyId"],
        }
    ]


def test_control_changes_show_up_in_history(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    message_id = boxes.sandbox.google.deliver(
        ANA, raw_message(sender="x@o.test", to=ANA, subject="Elsewhere")
    )["id"]
    boxes.sandbox.google.modify_labels(ANA, message_id, remove=["UNREAD"])
    boxes.sandbox.google.delete_message(ANA, message_id)
    records = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    kinds = [next(k for k in r if k not in ("id", "messages")) for r in records["history"]]
    assert kinds == ["messagesAdded", "labelsRemoved", "messagesDeleted"]


def test_unknown_label_or_user_is_refused(boxes: Mailboxes) -> None:
    with pytest.raises(SandboxError) as unknown_label:
        boxes.sandbox.google.deliver(
            ANA, raw_message(sender="x@o.test", to=ANA, subject="x"), label_ids=["Label_77"]
        )
    assert unknown_label.value.status == 400
    with pytest.raises(SandboxError) as unknown_user:
        boxes.sandbox.google.messages("nobody@acme.test")
    assert unknown_user.value.status == 404


def test_minted_tokens_work_against_gmail_and_die_with_the_grant(boxes: Mailboxes) -> None:
    token = boxes.sandbox.call(
        "POST", "/google/tokens", json={"email": ANA, "client_id": CLIENT_ID, "scopes": [MAIL]}
    )["access_token"]
    url = f"{boxes.sandbox.google_base_url}/gmail/v1/users/me/profile"
    session = tls_session(boxes.sandbox)
    headers = {"Authorization": f"Bearer {token}"}
    assert session.get(url, headers=headers).status_code == 200
    boxes.sandbox.google.revoke_grants(ANA)
    assert session.get(url, headers=headers).status_code == 401


def test_push_endpoints_are_listed_with_defaults(boxes: Mailboxes) -> None:
    boxes.sandbox.call(
        "POST",
        "/google/push-endpoints",
        json={"topicName": "projects/p1/topics/mail", "pushEndpoint": "https://hooks.test/gmail"},
    )
    listed = boxes.sandbox.call("GET", "/google/push-endpoints")["pushEndpoints"]
    assert listed == [
        {
            "topic_name": "projects/p1/topics/mail",
            "push_endpoint": "https://hooks.test/gmail",
            "audience": "https://hooks.test/gmail",
            "subscription": "projects/p1/subscriptions/mail-push",
            "service_account_email": "gmail-push@p1.iam.gserviceaccount.com",
        }
    ]
