"""messages.send between sandbox users: delivery, Sent copies, threading like Gmail, uploads."""

from __future__ import annotations

import base64
from email import message_from_bytes
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import MediaInMemoryUpload

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import ANA, BEN, Mailboxes, encoded, raw_message, two_mailboxes


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox)


def source_of(gmail: Any, message_id: str) -> Any:
    raw = gmail.users().messages().get(userId="me", id=message_id, format="raw").execute()["raw"]
    return message_from_bytes(base64.urlsafe_b64decode(raw))


def inbox(gmail: Any) -> list[dict[str, Any]]:
    return (
        gmail.users().messages().list(userId="me", labelIds=["INBOX"]).execute().get("messages", [])
    )


def test_sent_message_arrives_in_the_recipients_inbox_with_a_sent_copy(boxes: Mailboxes) -> None:
    ana, ben = boxes.service(boxes.ana), boxes.service(boxes.ben)
    raw = raw_message(
        sender=f"Ana Ruiz <{ANA}>", to=BEN, subject="Pilot kickoff", bcc="secret@elsewhere.test"
    )
    sent = ana.users().messages().send(userId="me", body={"raw": encoded(raw)}).execute()
    assert sent["labelIds"] == ["SENT"]
    received = inbox(ben)
    assert len(received) == 1
    copy = ben.users().messages().get(userId="me", id=received[0]["id"]).execute()
    assert set(copy["labelIds"]) >= {"INBOX", "UNREAD"}
    delivered = source_of(ben, copy["id"])
    assert delivered["Subject"] == "Pilot kickoff"
    assert delivered["Bcc"] is None and delivered["Delivered-To"] == BEN
    assert source_of(ana, sent["id"])["Bcc"] == "secret@elsewhere.test"
    assert delivered["Message-ID"] == source_of(ana, sent["id"])["Message-ID"]


def test_a_reply_joins_the_thread_on_both_sides(boxes: Mailboxes) -> None:
    ana, ben = boxes.service(boxes.ana), boxes.service(boxes.ben)
    first = raw_message(
        sender=ANA, to=BEN, subject="Quote for Q3", message_id="<quote-1@acme.test>"
    )
    sent = ana.users().messages().send(userId="me", body={"raw": encoded(first)}).execute()
    received = inbox(ben)[0]
    reply = raw_message(
        sender=BEN, to=ANA, subject="Re: Quote for Q3", in_reply_to="<quote-1@acme.test>"
    )
    answer = (
        ben.users()
        .messages()
        .send(userId="me", body={"raw": encoded(reply), "threadId": received["threadId"]})
        .execute()
    )
    assert answer["threadId"] == received["threadId"]
    back = inbox(ana)[0]
    assert back["threadId"] == sent["threadId"]
    thread = ana.users().threads().get(userId="me", id=sent["threadId"]).execute()
    assert [m["id"] for m in thread["messages"]] == [sent["id"], back["id"]]
    headers = {h["name"]: h["value"] for h in thread["messages"][1]["payload"]["headers"]}
    assert headers["In-Reply-To"] == "<quote-1@acme.test>"


def test_a_changed_subject_starts_a_new_thread_even_with_references(boxes: Mailboxes) -> None:
    ana = boxes.service(boxes.ana)
    first = raw_message(sender=ANA, to=BEN, subject="Budget", message_id="<b-1@acme.test>")
    sent = ana.users().messages().send(userId="me", body={"raw": encoded(first)}).execute()
    other = raw_message(sender=ANA, to=BEN, subject="Lunch?", in_reply_to="<b-1@acme.test>")
    again = (
        ana.users()
        .messages()
        .send(userId="me", body={"raw": encoded(other), "threadId": sent["threadId"]})
        .execute()
    )
    assert again["threadId"] != sent["threadId"]


def test_send_without_recipients_answers_400(boxes: Mailboxes) -> None:
    raw = b"From: ana@acme.test\r\nSubject: nobody\r\n\r\nhi\r\n"
    with pytest.raises(HttpError) as error:
        boxes.service().users().messages().send(userId="me", body={"raw": encoded(raw)}).execute()
    assert error.value.status_code == 400


def test_send_without_raw_answers_googles_400(boxes: Mailboxes) -> None:
    with pytest.raises(HttpError) as error:
        boxes.service().users().messages().send(userId="me", body={}).execute()
    assert error.value.status_code == 400
    assert "'raw' RFC822 payload message string" in str(error.value)


def test_a_foreign_from_is_rewritten_to_the_sender(boxes: Mailboxes) -> None:
    ana = boxes.service(boxes.ana)
    raw = raw_message(sender="Boss <ceo@acme.test>", to=BEN, subject="Spoof")
    sent = ana.users().messages().send(userId="me", body={"raw": encoded(raw)}).execute()
    assert ANA in source_of(ana, sent["id"])["From"]


def test_send_through_the_multipart_upload_path(boxes: Mailboxes) -> None:
    ana, ben = boxes.service(boxes.ana), boxes.service(boxes.ben)
    raw = raw_message(sender=ANA, to=BEN, subject="Uploaded")
    media = MediaInMemoryUpload(raw, mimetype="message/rfc822")
    sent = ana.users().messages().send(userId="me", body={}, media_body=media).execute()
    assert sent["labelIds"] == ["SENT"]
    assert source_of(ben, inbox(ben)[0]["id"])["Subject"] == "Uploaded"


def test_insert_through_the_media_upload_path(boxes: Mailboxes) -> None:
    ana = boxes.service(boxes.ana)
    raw = raw_message(sender="x@outside.test", to=ANA, subject="Appended")
    media = MediaInMemoryUpload(raw, mimetype="message/rfc822")
    inserted = ana.users().messages().insert(userId="me", media_body=media).execute()
    assert "labelIds" not in inserted  # insert applies exactly the labels given: none
    assert source_of(ana, inserted["id"])["Subject"] == "Appended"


def test_control_delivery_threads_by_references_and_subject(
    sandbox: SandboxClient, boxes: Mailboxes
) -> None:
    first = sandbox.google.deliver(
        ANA, raw_message(sender="x@o.test", to=ANA, subject="Hello", message_id="<h-1@o.test>")
    )
    second = sandbox.google.deliver(
        ANA, raw_message(sender="x@o.test", to=ANA, subject="RE: hello", in_reply_to="<h-1@o.test>")
    )
    assert second["threadId"] == first["threadId"] == first["id"]
