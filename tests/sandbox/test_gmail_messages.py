"""Gmail users.messages through googleapiclient (static discovery), answers checked against the
gmail.v1 discovery schemas.
"""

from __future__ import annotations

import base64
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.discovery_schema import assert_schema
from tests.sandbox.gmail_harness import ANA, GMAIL, Mailboxes, grant, raw_message, two_mailboxes


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox, fill=120)


def first_ids(gmail: Any, **query: Any) -> list[str]:
    answer = gmail.users().messages().list(userId="me", **query).execute()
    assert_schema("gmail.v1", "ListMessagesResponse", answer)
    return [m["id"] for m in answer.get("messages", [])]


def with_attachment(sandbox: SandboxClient) -> str:
    message = EmailMessage()
    message["From"] = "Lucas <lucas@kestrel.test>"
    message["To"] = ANA
    message["Subject"] = "=?UTF-8?B?UmFwcG9ydCBmw7xy?= Q3"
    message["Message-ID"] = "<report-q3@kestrel.test>"
    message.set_content("See the attached report.")
    message.add_alternative("<p>See the <b>attached</b> report.</p>", subtype="html")
    message.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="report.pdf"
    )
    return sandbox.google.deliver(ANA, bytes(message))["id"]


def test_list_pages_newest_first_with_estimate_and_tokens(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    first = gmail.users().messages().list(userId="me", maxResults=20).execute()
    assert len(first["messages"]) == 20 and first["nextPageToken"]
    second = (
        gmail.users()
        .messages()
        .list(userId="me", maxResults=20, pageToken=first["nextPageToken"])
        .execute()
    )
    ids = [m["id"] for m in first["messages"] + second["messages"]]
    assert len(set(ids)) == 40
    dates = [
        int(
            gmail.users()
            .messages()
            .get(userId="me", id=i, format="minimal")
            .execute()["internalDate"]
        )
        for i in ids
    ]
    assert dates == sorted(dates, reverse=True)
    assert first["resultSizeEstimate"] >= 40


def test_list_leaves_out_spam_and_trash_unless_asked(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    every = boxes.sandbox.google.messages(ANA)["messages"]
    hidden = {m["id"] for m in every if {"SPAM", "TRASH"} & set(m["labelIds"])}
    assert hidden
    listed = set(first_ids(gmail, maxResults=500))
    assert not listed & hidden
    assert hidden <= set(first_ids(gmail, maxResults=500, includeSpamTrash=True))
    assert set(first_ids(gmail, labelIds=["TRASH"], maxResults=500)) <= hidden


def test_label_ids_must_all_match(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    ids = first_ids(gmail, labelIds=["INBOX", "UNREAD"], maxResults=500)
    for message_id in ids:
        labels = (
            gmail.users()
            .messages()
            .get(userId="me", id=message_id, format="minimal")
            .execute()["labelIds"]
        )
        assert {"INBOX", "UNREAD"} <= set(labels)


def test_empty_list_has_only_the_estimate(boxes: Mailboxes) -> None:
    answer = boxes.service(boxes.ben).users().messages().list(userId="me").execute()
    assert answer == {"resultSizeEstimate": 0}


@pytest.mark.parametrize("fmt", ["minimal", "metadata", "full", "raw"])
def test_every_format_matches_the_message_schema(boxes: Mailboxes, fmt: str) -> None:
    gmail = boxes.service()
    for message_id in first_ids(gmail, maxResults=25):
        message = gmail.users().messages().get(userId="me", id=message_id, format=fmt).execute()
        assert_schema("gmail.v1", "Message", message)
        assert ("payload" in message) == (fmt in ("metadata", "full"))
        assert ("raw" in message) == (fmt == "raw")


def test_full_payload_is_a_part_tree_with_attachment_ids(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = with_attachment(boxes.sandbox)
    message = gmail.users().messages().get(userId="me", id=message_id).execute()
    payload = message["payload"]
    assert payload["partId"] == "" and payload["mimeType"] == "multipart/mixed"
    assert [p["partId"] for p in payload["parts"]] == ["0", "1"]
    alternative, attachment = payload["parts"]
    assert [p["mimeType"] for p in alternative["parts"]] == ["text/plain", "text/html"]
    assert alternative["parts"][0]["partId"] == "0.0"
    text = base64.urlsafe_b64decode(alternative["parts"][0]["body"]["data"])
    assert text.strip() == b"See the attached report."
    assert attachment["filename"] == "report.pdf"
    assert "data" not in attachment["body"] and attachment["body"]["size"] == 13
    subject = next(h["value"] for h in payload["headers"] if h["name"] == "Subject")
    assert subject == "Rapport für Q3"  # RFC 2047 decoded, as Gmail shows headers
    data = (
        gmail.users()
        .messages()
        .attachments()
        .get(userId="me", messageId=message_id, id=attachment["body"]["attachmentId"])
        .execute()
    )
    assert_schema("gmail.v1", "MessagePartBody", data)
    assert base64.urlsafe_b64decode(data["data"]) == b"%PDF-1.4 fake"


def test_raw_is_the_stored_source_in_base64url(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = with_attachment(boxes.sandbox)
    raw = gmail.users().messages().get(userId="me", id=message_id, format="raw").execute()["raw"]
    parsed = message_from_bytes(base64.urlsafe_b64decode(raw))
    assert parsed["Message-ID"] == "<report-q3@kestrel.test>"


def test_metadata_format_keeps_only_the_asked_headers(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = first_ids(gmail, maxResults=1)[0]
    message = (
        gmail.users()
        .messages()
        .get(userId="me", id=message_id, format="metadata", metadataHeaders=["From", "subject"])
        .execute()
    )
    names = {h["name"] for h in message["payload"]["headers"]}
    assert names == {"From", "Subject"}


def test_metadata_scope_may_not_read_bodies(boxes: Mailboxes) -> None:
    gmail = boxes.service(grant(boxes.sandbox, ANA, [f"{GMAIL}metadata"]))
    message_id = first_ids(gmail, maxResults=1)[0]
    with pytest.raises(HttpError) as error:
        gmail.users().messages().get(userId="me", id=message_id, format="full").execute()
    assert error.value.status_code == 403
    gmail.users().messages().get(userId="me", id=message_id, format="metadata").execute()


def test_unknown_message_answers_404_and_a_bad_id_400(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    with pytest.raises(HttpError) as missing:
        gmail.users().messages().get(userId="me", id="18c0ffee00000000").execute()
    assert missing.value.status_code == 404
    assert missing.value.error_details[0]["reason"] == "notFound"
    with pytest.raises(HttpError) as bad:
        gmail.users().messages().get(userId="me", id="not-an-id").execute()
    assert bad.value.status_code == 400


def test_another_users_mailbox_is_delegation_denied(boxes: Mailboxes) -> None:
    with pytest.raises(HttpError) as error:
        boxes.service(boxes.ben).users().messages().list(userId=ANA).execute()
    assert error.value.status_code == 403


def test_modify_changes_labels_and_bumps_history_id(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = first_ids(gmail, labelIds=["UNREAD"], maxResults=1)[0]
    before = gmail.users().messages().get(userId="me", id=message_id).execute()
    answer = (
        gmail.users()
        .messages()
        .modify(
            userId="me",
            id=message_id,
            body={"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]},
        )
        .execute()
    )
    assert_schema("gmail.v1", "Message", answer)
    assert "STARRED" in answer["labelIds"] and "UNREAD" not in answer["labelIds"]
    after = gmail.users().messages().get(userId="me", id=message_id).execute()
    assert int(after["historyId"]) > int(before["historyId"])


def test_modify_with_an_unknown_label_answers_400(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = first_ids(gmail, maxResults=1)[0]
    with pytest.raises(HttpError) as error:
        gmail.users().messages().modify(
            userId="me", id=message_id, body={"addLabelIds": ["Label_404"]}
        ).execute()
    assert error.value.status_code == 400


def test_batch_modify_relabels_many_messages(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    ids = first_ids(gmail, labelIds=["UNREAD"], maxResults=10)
    answer = (
        gmail.users()
        .messages()
        .batchModify(userId="me", body={"ids": ids, "removeLabelIds": ["UNREAD"]})
        .execute()
    )
    assert answer == ""
    assert not set(ids) & set(first_ids(gmail, labelIds=["UNREAD"], maxResults=500))


def test_trash_and_untrash(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = first_ids(gmail, labelIds=["INBOX"], maxResults=1)[0]
    trashed = gmail.users().messages().trash(userId="me", id=message_id).execute()
    assert "TRASH" in trashed["labelIds"] and "INBOX" not in trashed["labelIds"]
    assert message_id not in first_ids(gmail, maxResults=500)
    restored = gmail.users().messages().untrash(userId="me", id=message_id).execute()
    assert "TRASH" not in restored.get("labelIds", [])


def test_delete_and_batch_delete_need_the_full_mail_scope(boxes: Mailboxes) -> None:
    modify_only = boxes.service(grant(boxes.sandbox, ANA, [f"{GMAIL}modify"]))
    ids = first_ids(modify_only, maxResults=3)
    with pytest.raises(HttpError) as error:
        modify_only.users().messages().delete(userId="me", id=ids[0]).execute()
    assert error.value.status_code == 403
    gmail = boxes.service()
    gmail.users().messages().delete(userId="me", id=ids[0]).execute()
    gmail.users().messages().batchDelete(userId="me", body={"ids": ids[1:]}).execute()
    for message_id in ids:
        with pytest.raises(HttpError):
            gmail.users().messages().get(userId="me", id=message_id).execute()


def test_search_query_finds_by_rfc822_message_id_and_attachment(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = with_attachment(boxes.sandbox)
    assert first_ids(gmail, q="rfc822msgid:report-q3@kestrel.test") == [message_id]
    assert message_id in first_ids(gmail, q="has:attachment from:kestrel.test")
    assert message_id not in first_ids(gmail, q="has:attachment -from:kestrel.test")
    assert message_id in first_ids(gmail, q='subject:"für Q3" newer_than:1d')


def test_unknown_body_field_is_refused_like_google(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    message_id = first_ids(gmail, maxResults=1)[0]
    with pytest.raises(HttpError) as error:
        gmail.users().messages().modify(
            userId="me", id=message_id, body={"addLabels": ["STARRED"]}
        ).execute()
    assert error.value.status_code == 400
    assert "Unknown name" in str(error.value)


def test_insert_keeps_exactly_the_given_labels(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    raw = raw_message(
        sender="x@outside.test", to=ANA, subject="Imported", date="Mon, 01 Jan 2024 10:00:00 +0000"
    )
    body = {"raw": base64.urlsafe_b64encode(raw).decode(), "labelIds": ["INBOX"]}
    inserted = gmail.users().messages().insert(userId="me", body=body).execute()
    assert inserted["labelIds"] == ["INBOX"]
    imported = gmail.users().messages().import_(userId="me", body=body).execute()
    message = gmail.users().messages().get(userId="me", id=imported["id"]).execute()
    assert message["internalDate"] == "1704103200000"  # import dates by the Date header
