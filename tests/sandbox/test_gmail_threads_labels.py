"""Gmail users.threads, users.labels and getProfile through googleapiclient."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.discovery_schema import assert_schema
from tests.sandbox.gmail_harness import ANA, Mailboxes, two_mailboxes

SYSTEM = {
    "INBOX",
    "SENT",
    "STARRED",
    "UNREAD",
    "IMPORTANT",
    "TRASH",
    "SPAM",
    "DRAFT",
    "CHAT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
}


@pytest.fixture
def boxes(sandbox: SandboxClient) -> Mailboxes:
    return two_mailboxes(sandbox, fill=150)


def test_profile_counts_messages_and_threads(boxes: Mailboxes) -> None:
    profile = boxes.service().users().getProfile(userId="me").execute()
    assert_schema("gmail.v1", "Profile", profile)
    stored = boxes.sandbox.google.messages(ANA)["messages"]
    assert profile["emailAddress"] == ANA
    assert profile["messagesTotal"] == len(stored)
    assert profile["threadsTotal"] == len({m["threadId"] for m in stored})


def test_threads_list_and_get_group_messages_oldest_first(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    listed = gmail.users().threads().list(userId="me", maxResults=50).execute()
    assert_schema("gmail.v1", "ListThreadsResponse", listed)
    multi = None
    for item in listed["threads"]:
        thread = gmail.users().threads().get(userId="me", id=item["id"]).execute()
        assert_schema("gmail.v1", "Thread", thread)
        dates = [int(m["internalDate"]) for m in thread["messages"]]
        assert dates == sorted(dates)
        assert thread["messages"][0]["id"] == thread["id"]
        assert thread["historyId"] == item["historyId"]
        if len(thread["messages"]) > 1:
            multi = thread
    assert multi is not None, "the generated mailbox has conversations"


def test_threads_modify_and_trash_apply_to_every_message(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    listed = gmail.users().threads().list(userId="me", maxResults=1).execute()
    thread_id = listed["threads"][0]["id"]
    modified = (
        gmail.users()
        .threads()
        .modify(userId="me", id=thread_id, body={"addLabelIds": ["STARRED"]})
        .execute()
    )
    assert all("STARRED" in m["labelIds"] for m in modified["messages"])
    trashed = gmail.users().threads().trash(userId="me", id=thread_id).execute()
    assert all("TRASH" in m["labelIds"] for m in trashed["messages"])
    listed = gmail.users().threads().list(userId="me", maxResults=500).execute()
    assert thread_id not in {t["id"] for t in listed["threads"]}


def test_threads_list_pages_do_not_repeat(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    seen: list[str] = []
    request = gmail.users().threads().list(userId="me", maxResults=15)
    while request is not None:
        answer = request.execute()
        seen += [t["id"] for t in answer.get("threads", [])]
        request = gmail.users().threads().list_next(request, answer)
    assert len(seen) == len(set(seen)) == answer["resultSizeEstimate"]


def test_labels_list_has_the_system_labels(boxes: Mailboxes) -> None:
    labels = boxes.service().users().labels().list(userId="me").execute()
    assert_schema("gmail.v1", "ListLabelsResponse", labels)
    by_id = {label["id"]: label for label in labels["labels"]}
    assert set(by_id) >= SYSTEM
    assert all(by_id[name]["type"] == "system" for name in SYSTEM)
    assert "messagesTotal" not in by_id["INBOX"]


def test_label_get_counts_messages_and_threads(boxes: Mailboxes) -> None:
    label = boxes.service().users().labels().get(userId="me", id="INBOX").execute()
    assert_schema("gmail.v1", "Label", label)
    stored = [m for m in boxes.sandbox.google.messages(ANA)["messages"] if "INBOX" in m["labelIds"]]
    assert label["messagesTotal"] == len(stored)
    assert label["threadsTotal"] == len({m["threadId"] for m in stored})
    unread = [m for m in stored if "UNREAD" in m["labelIds"]]
    assert label["messagesUnread"] == len(unread)


def test_created_label_can_be_applied_and_searched(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    label = (
        gmail.users()
        .labels()
        .create(
            userId="me",
            body={
                "name": "Deals/Won",
                "labelListVisibility": "labelShow",
                "messageListVisibility": "show",
            },
        )
        .execute()
    )
    assert_schema("gmail.v1", "Label", label)
    assert label["id"].startswith("Label_") and label["type"] == "user"
    message_id = (
        gmail.users().messages().list(userId="me", maxResults=1).execute()["messages"][0]["id"]
    )
    gmail.users().messages().modify(
        userId="me", id=message_id, body={"addLabelIds": [label["id"]]}
    ).execute()
    found = gmail.users().messages().list(userId="me", q="label:deals-won").execute()
    assert [m["id"] for m in found["messages"]] == [message_id]
    assert gmail.users().labels().get(userId="me", id=label["id"]).execute()["messagesTotal"] == 1


def test_duplicate_or_reserved_label_names_are_refused(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    gmail.users().labels().create(userId="me", body={"name": "Customers"}).execute()
    with pytest.raises(HttpError) as duplicate:
        gmail.users().labels().create(userId="me", body={"name": "customers"}).execute()
    assert duplicate.value.status_code == 409
    with pytest.raises(HttpError) as reserved:
        gmail.users().labels().create(userId="me", body={"name": "INBOX"}).execute()
    assert reserved.value.status_code == 400


def test_deleted_label_leaves_every_message(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    label = gmail.users().labels().create(userId="me", body={"name": "Temp"}).execute()
    ids = [
        m["id"]
        for m in gmail.users().messages().list(userId="me", maxResults=3).execute()["messages"]
    ]
    gmail.users().messages().batchModify(
        userId="me", body={"ids": ids, "addLabelIds": [label["id"]]}
    ).execute()
    gmail.users().labels().delete(userId="me", id=label["id"]).execute()
    for message_id in ids:
        labels = (
            gmail.users()
            .messages()
            .get(userId="me", id=message_id, format="minimal")
            .execute()
            .get("labelIds", [])
        )
        assert label["id"] not in labels


def test_threads_untrash_and_delete(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    listed = gmail.users().threads().list(userId="me", maxResults=2).execute()
    kept, doomed = (t["id"] for t in listed["threads"])
    gmail.users().threads().trash(userId="me", id=kept).execute()
    restored = gmail.users().threads().untrash(userId="me", id=kept).execute()
    assert all("TRASH" not in m.get("labelIds", []) for m in restored["messages"])
    gmail.users().threads().delete(userId="me", id=doomed).execute()
    with pytest.raises(HttpError) as error:
        gmail.users().threads().get(userId="me", id=doomed).execute()
    assert error.value.status_code == 404


def test_label_patch_renames_and_update_replaces(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    label = (
        gmail.users()
        .labels()
        .create(userId="me", body={"name": "Leads", "messageListVisibility": "hide"})
        .execute()
    )
    patched = (
        gmail.users()
        .labels()
        .patch(userId="me", id=label["id"], body={"name": "Hot leads"})
        .execute()
    )
    assert patched["name"] == "Hot leads" and patched["messageListVisibility"] == "hide"
    replaced = (
        gmail.users()
        .labels()
        .update(userId="me", id=label["id"], body={"name": "Cold leads"})
        .execute()
    )
    assert replaced["name"] == "Cold leads" and "messageListVisibility" not in replaced
    with pytest.raises(HttpError) as error:
        gmail.users().labels().patch(userId="me", id="INBOX", body={"name": "Mine"}).execute()
    assert error.value.status_code == 400


def test_fields_parameter_trims_the_answer(boxes: Mailboxes) -> None:
    gmail = boxes.service()
    answer = (
        gmail.users()
        .messages()
        .list(userId="me", maxResults=3, fields="messages(id),nextPageToken")
        .execute()
    )
    assert set(answer) == {"messages", "nextPageToken"}
    assert all(set(m) == {"id"} for m in answer["messages"])
    message = (
        gmail.users()
        .messages()
        .get(userId="me", id=answer["messages"][0]["id"], fields="id,payload/headers")
        .execute()
    )
    assert set(message) == {"id", "payload"} and set(message["payload"]) == {"headers"}
