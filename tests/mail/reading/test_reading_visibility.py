"""What each reader sees of a thread and its messages, by the mailboxes' visibility policies;
per-message flags; links and tasks; query count; the error format."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import User
from integrations.mail.models import Attachment, Mailbox, MessageCopy, ThreadLink, ThreadTask
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory, TaskFactory
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations"
SUBJECT = "Renewal terms for 2027"
BODY = "<p>We can do <b>12% off</b> if you sign by Friday.</p>"


@pytest.fixture
def bob_mail(org_a: Tenant) -> dict[str, Any]:
    """Bob's mailbox: a thread of two messages with Ada, the first with a PDF."""
    with org_a.scope():
        box: Mailbox = MailboxFactory(connection=ConnectionFactory(user=org_a.member))
        first = mail_message(
            box,
            sender=("ada@acme.test", "Ada"),
            to=[(box.address, "Bob")],
            subject=SUBJECT,
            html_body=BODY,
        )
        reply = mail_message(
            box, sender=(box.address, "Bob"), to=["ada@acme.test"], thread=first.thread
        )
        pdf = Attachment.objects.create(
            message=first, filename="terms.pdf", content_type="application/pdf", size=3
        )
    return {"mailbox": box, "first": first, "reply": reply, "pdf": pdf, "thread": first.thread}


def _visibility(org: Tenant, mailbox: Mailbox, value: str) -> None:
    with org.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(visibility=value)


def _thread(org: Tenant, user: User, thread_id: int) -> Any:
    return token_client(org, user).get(f"{API}/email/thread/{thread_id}")


def test_full_visibility_shows_subject_bodies_and_attachments_to_every_member(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    thread = _thread(org_a, erin, bob_mail["thread"].pk).json()

    first = thread["messages"][0]
    assert thread["visibility"] == "full" and first["visibility"] == "full"
    assert first["subject"] == SUBJECT and "<b>12% off</b>" in first["htmlBody"]
    assert [a["filename"] for a in first["attachments"]] == ["terms.pdf"]


def test_metadata_visibility_shows_who_and_when_but_no_subject_or_content(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    _visibility(org_a, bob_mail["mailbox"], "metadata")

    response = _thread(org_a, erin, bob_mail["thread"].pk)

    thread = response.json()
    first = thread["messages"][0]
    assert thread["subject"] is None and thread["visibility"] == "metadata"
    assert first["subject"] is None and first["snippet"] is None
    assert first["htmlBody"] is None and first["textBody"] is None and first["attachments"] == []
    assert {p["address"] for p in first["participants"]} == {
        "ada@acme.test",
        bob_mail["mailbox"].address,
    }
    assert SUBJECT not in response.content.decode() and "12%" not in response.content.decode()


def test_subject_visibility_shows_the_subject_but_no_content(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    _visibility(org_a, bob_mail["mailbox"], "subject")

    response = token_client(org_a, erin).get(f"{API}/email/messages/{bob_mail['first'].pk}")

    message = response.json()
    assert message["subject"] == SUBJECT and message["visibility"] == "subject"
    assert message["htmlBody"] is None and message["attachments"] == []
    assert "12%" not in response.content.decode()


def test_attachments_of_mail_whose_content_is_not_shared_are_a_404(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    _visibility(org_a, bob_mail["mailbox"], "subject")
    url = f"{API}/email/messages/{bob_mail['first'].pk}/attachments/{bob_mail['pdf'].pk}"

    response = token_client(org_a, erin).get(url)

    assert response.status_code == 404 and response.json()["code"] == "AttachmentNotFound"


def test_private_mail_is_a_404_except_for_its_owner_and_admins(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    _visibility(org_a, bob_mail["mailbox"], "private")
    thread_id = bob_mail["thread"].pk

    statuses = {u.email: _thread(org_a, u, thread_id).status_code for u in (erin, org_a.member)}
    owner = _thread(org_a, org_a.owner, thread_id)

    assert statuses == {erin.email: 404, org_a.member.email: 200}
    assert owner.status_code == 200 and owner.json()["messages"][0]["subject"] == SUBJECT
    body = _thread(org_a, erin, thread_id).json()
    assert body == {
        "error": "Thread not found",
        "code": "ThreadNotFound",
        "statusCode": 404,
        "details": {},
    }


def test_each_message_shows_at_the_best_level_one_of_its_copies_allows(
    org_a: Tenant, erin: User, bob_mail: dict[str, Any]
) -> None:
    _visibility(org_a, bob_mail["mailbox"], "metadata")
    with org_a.scope():
        shared = MailboxFactory(connection=ConnectionFactory(user=org_a.owner))
        MessageCopy.objects.create(
            mailbox=shared,
            message=bob_mail["reply"],
            provider_message_id="shared-copy",
            received_at=bob_mail["reply"].sent_at,
        )

    messages = _thread(org_a, erin, bob_mail["thread"].pk).json()["messages"]

    assert [m["visibility"] for m in messages] == ["metadata", "full"]


def test_unread_and_starred_come_from_the_readers_own_copy_when_they_hold_one(
    org_a: Tenant, bob_mail: dict[str, Any]
) -> None:
    with org_a.scope():
        MessageCopy.objects.filter(message=bob_mail["first"]).update(is_read=True)
        alices = MailboxFactory(connection=ConnectionFactory(user=org_a.owner))
        MessageCopy.objects.create(
            mailbox=alices,
            message=bob_mail["first"],
            provider_message_id="alices-copy",
            received_at=bob_mail["first"].sent_at,
            is_read=False,
            is_starred=True,
        )

    alice = _thread(org_a, org_a.owner, bob_mail["thread"].pk).json()["messages"][0]
    bob = _thread(org_a, org_a.member, bob_mail["thread"].pk).json()["messages"][0]

    assert (alice["unread"], alice["starred"]) == (True, True)
    assert (bob["unread"], bob["starred"]) == (False, False)


def test_the_thread_carries_its_crm_links_and_tasks(
    org_a: Tenant, bob_mail: dict[str, Any]
) -> None:
    with org_a.scope():
        ada = ContactFactory(first_name="Ada", last_name="Lovelace")
        ThreadLink.objects.create(thread=bob_mail["thread"], contact=ada, source="manual")
        task = TaskFactory(title="Send the signed terms")
        ThreadTask.objects.create(thread=bob_mail["thread"], task=task)

    thread = _thread(org_a, org_a.owner, bob_mail["thread"].pk).json()

    assert thread["links"] == [
        {"type": "contact", "id": ada.pk, "name": "Ada Lovelace", "source": "manual"}
    ]
    assert [(t["id"], t["title"]) for t in thread["tasks"]] == [(task.pk, "Send the signed terms")]


def test_a_thread_costs_the_same_queries_whatever_its_length(
    org_a: Tenant, bob_mail: dict[str, Any]
) -> None:
    counts = []
    client = token_client(org_a)
    client.get(f"{API}/email/thread/{bob_mail['thread'].pk}")  # the token's first use is noted
    for more in (0, 6):
        with org_a.scope():
            for _ in range(more):
                mail_message(
                    bob_mail["mailbox"],
                    sender="ada@acme.test",
                    to=["x@acme.test", "y@acme.test"],
                    thread=bob_mail["thread"],
                )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/email/thread/{bob_mail['thread'].pk}")
        assert len(response.json()["messages"]) == 2 + more
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_an_unknown_thread_and_message_are_404s_in_the_error_format(org_a: Tenant) -> None:
    client = token_client(org_a)

    thread = client.get(f"{API}/email/thread/999999")
    message = client.get(f"{API}/email/messages/999999")

    assert (thread.status_code, thread.json()["code"]) == (404, "ThreadNotFound")
    assert (message.status_code, message.json()["code"]) == (404, "MessageNotFound")


@pytest.mark.parametrize(
    ("stored_type", "served_type", "disposition"),
    [
        ("image/png", "image/png", "inline"),
        ("image/svg+xml", "image/svg+xml", "attachment"),
        ("text/html", "text/html", "attachment"),
        ('text/html"; x=<script>', "application/octet-stream", "attachment"),
        ("", "application/octet-stream", "attachment"),
    ],
)
def test_only_safe_images_show_inline_everything_else_downloads(
    org_a: Tenant,
    bob_mail: dict[str, Any],
    stored_type: str,
    served_type: str,
    disposition: str,
) -> None:
    with org_a.scope():
        attachment = Attachment.objects.create(
            message=bob_mail["first"],
            filename='../../etc/"passwd".html',
            content_type=stored_type,
        )
        attachment.content.save("x", ContentFile(b"<script>alert(1)</script>"))
    url = f"{API}/email/messages/{bob_mail['first'].pk}/attachments/{attachment.pk}"

    response = token_client(org_a).get(url)
    download = token_client(org_a).get(url, {"download": "1"})

    assert response["Content-Type"] == served_type
    assert response["Content-Disposition"].startswith(f'{disposition}; filename="_passwd_.html"')
    assert "filename*=UTF-8''%22passwd%22.html" in response["Content-Disposition"]
    assert download["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
