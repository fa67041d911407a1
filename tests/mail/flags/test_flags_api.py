"""The read / star / archive API and its service: toggling and setting on both providers' copies,
who may act on what (404 vs 403), the bulk PATCH with its validation, and set-based cost.

The provider is not reached here: write-through tasks are recorded (see conftest), and
test_write_through.py runs them against the sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import User
from integrations.mail.flags import Flag, set_flag, set_flags
from integrations.mail.models import Mailbox, Message, MessageCopy, SharedInbox, SharedInboxAssignee
from integrations.mail.services import shared_inbox_default
from integrations.mail.threads import threads_recount
from tests.conftest import Tenant, token_client
from tests.mail.factories import (
    ConnectionFactory,
    MailboxFactory,
    MessageCopyFactory,
    mail_message,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/integrations"
CUSTOMER = "carol@customer.test"


def box(tenant: Tenant, user: User, address: str, provider: str = "google", **f: Any) -> Mailbox:
    with tenant.scope():
        connection = ConnectionFactory(user=user, email=address, provider=provider)
        return MailboxFactory(connection=connection, address=address, **f)


def inbound(tenant: Tenant, mailbox: Mailbox, **fields: Any) -> Message:
    """An unread, unstarred message in the mailbox's inbox (Gmail labels or a Graph folder)."""
    folders = ["INBOX", "UNREAD"] if mailbox.provider == "google" else ["graph-inbox-folder"]
    with tenant.scope():
        return mail_message(mailbox, sender=CUSTOMER, to=[mailbox.address], folder_ids=folders)


def copy_of(tenant: Tenant, message: Message, mailbox: Mailbox) -> MessageCopy:
    with tenant.scope():
        return MessageCopy.objects.get(message=message, mailbox=mailbox)


def flags(copy: MessageCopy) -> tuple[bool, bool, bool, bool]:
    return (copy.is_read, copy.is_starred, copy.is_archived, copy.in_inbox)


@pytest.fixture
def alice_gmail(org_a: Tenant) -> Mailbox:
    return box(org_a, org_a.owner, "alice@alpha.test")


@pytest.fixture
def bob_box(org_a: Tenant) -> Mailbox:
    return box(org_a, org_a.member, "bob@alpha.test", provider="microsoft")


@pytest.fixture
def bob_api(org_a: Tenant) -> APIClient:
    return token_client(org_a, org_a.member)


# -- toggle and set ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_read_toggles_without_a_body_and_is_set_with_a_value(
    org_a: Tenant, bob_api: APIClient, provider: str
) -> None:
    mailbox = box(org_a, org_a.member, "bob@alpha.test", provider=provider)
    message = inbound(org_a, mailbox)
    url = f"{BASE}/email/{message.pk}/read"

    first = bob_api.post(url)
    again = bob_api.post(url, {"value": True}, format="json")
    copy = copy_of(org_a, message, mailbox)
    toggled_back = bob_api.post(url)

    assert first.status_code == 200, first.content
    assert first.json() == {
        "id": message.pk,
        "threadId": message.thread_id,
        "read": True,
        "unread": False,
        "starred": False,
        "archived": False,
        "pendingSync": True,
    }
    assert again.json()["read"] is True
    assert copy.is_read and copy.pending_flags == {"is_read": True}
    assert toggled_back.json()["unread"] is True
    assert copy_of(org_a, message, mailbox).pending_flags == {"is_read": False}


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_star_toggles_and_unstar_is_set_with_false(
    org_a: Tenant, bob_api: APIClient, provider: str
) -> None:
    mailbox = box(org_a, org_a.member, "bob@alpha.test", provider=provider)
    message = inbound(org_a, mailbox)
    url = f"{BASE}/email/{message.pk}/star"

    starred = bob_api.post(url).json()
    still = bob_api.post(url, {"value": True}, format="json").json()
    unstarred = bob_api.post(url, {"value": False}, format="json").json()

    assert (starred["starred"], still["starred"], unstarred["starred"]) == (True, True, False)
    copy = copy_of(org_a, message, mailbox)
    assert flags(copy) == (False, False, False, True)
    assert copy.pending_flags == {"is_starred": False}


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_archive_takes_the_message_out_of_the_inbox_and_the_toggle_brings_it_back(
    org_a: Tenant, bob_api: APIClient, provider: str
) -> None:
    mailbox = box(org_a, org_a.member, "bob@alpha.test", provider=provider)
    message = inbound(org_a, mailbox)
    url = f"{BASE}/email/{message.pk}/archive"

    archived = bob_api.post(url).json()
    out = copy_of(org_a, message, mailbox)
    back = bob_api.post(url).json()

    assert archived["archived"] is True and back["archived"] is False
    assert flags(out) == (False, False, True, False)
    assert out.pending_flags == {"is_archived": True}
    assert flags(copy_of(org_a, message, mailbox)) == (False, False, False, True)


def test_archive_leaves_copies_outside_the_inbox_where_they_are(
    org_a: Tenant, alice_gmail: Mailbox
) -> None:
    outlook = box(org_a, org_a.owner, "alice@alpha-emea.test", provider="microsoft")
    message = inbound(org_a, alice_gmail)
    with org_a.scope():
        MessageCopyFactory(
            mailbox=outlook, message=message, folder_ids=["sent"], in_inbox=False, in_sent=True
        )
        set_flag(user=org_a.owner, message_ids=[message.pk], flag=Flag.ARCHIVED, value=True)
        sent = MessageCopy.objects.get(mailbox=outlook)
        (state,) = set_flag(user=org_a.owner, message_ids=[message.pk], flag=Flag.ARCHIVED)

    assert (sent.in_sent, sent.in_inbox, sent.is_archived, sent.pending_flags) == (
        True,
        False,
        False,
        {},
    )
    assert state.archived is False
    assert copy_of(org_a, message, alice_gmail).in_inbox is True


def test_a_person_changes_only_their_own_copy_of_a_shared_email(
    org_a: Tenant, alice_gmail: Mailbox, bob_box: Mailbox, bob_api: APIClient
) -> None:
    message = inbound(org_a, alice_gmail)
    with org_a.scope():
        MessageCopyFactory(mailbox=bob_box, message=message)

    response = bob_api.post(f"{BASE}/email/{message.pk}/read")

    assert response.status_code == 200
    assert copy_of(org_a, message, bob_box).is_read is True
    alice_copy = copy_of(org_a, message, alice_gmail)
    assert alice_copy.is_read is False and alice_copy.pending_flags == {}


def test_a_change_queues_one_write_through_per_mailbox_once_committed(
    org_a: Tenant,
    alice_gmail: Mailbox,
    bob_box: Mailbox,
    queued_writes: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    first, second = inbound(org_a, alice_gmail), inbound(org_a, alice_gmail)
    third = inbound(org_a, bob_box)

    with django_capture_on_commit_callbacks(execute=True), org_a.scope():
        set_flags(
            user=org_a.owner,
            message_ids=[first.pk, second.pk, third.pk],
            changes={Flag.READ: True, Flag.STARRED: True},
        )

    organization = org_a.organization.pk
    assert sorted(queued_writes) == sorted(
        [(organization, alice_gmail.pk), (organization, bob_box.pk)]
    )


def test_nothing_is_queued_when_nothing_changes(
    org_a: Tenant,
    alice_gmail: Mailbox,
    queued_writes: list[tuple[Any, ...]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    message = inbound(org_a, alice_gmail)
    with django_capture_on_commit_callbacks(execute=True), org_a.scope():
        (state,) = set_flag(user=org_a.owner, message_ids=[message.pk], flag=Flag.READ, value=False)

    assert queued_writes == [] and state.pending is False


# -- who may act ---------------------------------------------------------------------------------


def test_a_member_who_sees_a_colleagues_email_may_not_change_it(
    org_a: Tenant, alice_gmail: Mailbox, bob_api: APIClient
) -> None:
    message = inbound(org_a, alice_gmail)

    response = bob_api.post(f"{BASE}/email/{message.pk}/star")

    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"
    assert copy_of(org_a, message, alice_gmail).is_starred is False


def test_an_email_in_a_colleagues_private_mailbox_is_not_found(
    org_a: Tenant, bob_api: APIClient
) -> None:
    private = box(org_a, org_a.owner, "alice@alpha.test", visibility="private")
    message = inbound(org_a, private)

    response = bob_api.post(f"{BASE}/email/{message.pk}/read")

    assert response.status_code == 404
    assert response.json() == {
        "error": "Message not found",
        "code": "MessageNotFound",
        "statusCode": 404,
        "details": {},
    }


def test_an_unknown_or_another_organizations_email_is_not_found(
    org_a: Tenant, org_b: Tenant, alice_gmail: Mailbox, api_b: APIClient
) -> None:
    message = inbound(org_a, alice_gmail)

    for path in (f"{message.pk}/archive", "999999/read"):
        response = api_b.post(f"{BASE}/email/{path}")
        assert response.status_code == 404 and response.json()["code"] == "MessageNotFound"
    assert flags(copy_of(org_a, message, alice_gmail)) == (False, False, False, True)


def test_owners_and_admins_may_change_any_mailbox(
    org_a: Tenant, bob_box: Mailbox, api_a: APIClient
) -> None:
    message = inbound(org_a, bob_box)

    response = api_a.post(f"{BASE}/email/{message.pk}/read")

    assert response.status_code == 200
    assert copy_of(org_a, message, bob_box).is_read is True


def test_assignees_of_a_shared_inbox_may_change_its_mailboxes_email(
    org_a: Tenant, bob_api: APIClient
) -> None:
    with org_a.scope():
        team = SharedInbox.objects.create(name="Sales team")
        SharedInboxAssignee.objects.create(shared_inbox=team, user=org_a.member)
        default = shared_inbox_default()
    sales = box(org_a, org_a.owner, "sales@alpha.test", kind="shared", shared_inbox=team)
    support = box(org_a, org_a.owner, "support@alpha.test", kind="shared", shared_inbox=default)
    in_sales, in_support = inbound(org_a, sales), inbound(org_a, support)

    allowed = bob_api.post(f"{BASE}/email/{in_sales.pk}/archive")
    refused = bob_api.post(f"{BASE}/email/{in_support.pk}/archive")

    assert allowed.status_code == 200 and allowed.json()["archived"] is True
    assert refused.status_code == 403


def test_a_read_only_token_may_not_change_flags(org_a: Tenant, alice_gmail: Mailbox) -> None:
    message = inbound(org_a, alice_gmail)
    reader = token_client(org_a, org_a.owner, scopes=("read",))

    response = reader.post(f"{BASE}/email/{message.pk}/read")

    assert response.status_code == 403
    assert copy_of(org_a, message, alice_gmail).is_read is False


def test_a_toggle_refuses_unknown_body_fields(
    org_a: Tenant, alice_gmail: Mailbox, api_a: APIClient
) -> None:
    message = inbound(org_a, alice_gmail)

    response = api_a.post(f"{BASE}/email/{message.pk}/read", {"valu": True}, format="json")

    assert response.status_code == 400
    assert response.json()["details"] == {"valu": ["Unknown field."]}


# -- bulk ----------------------------------------------------------------------------------------


def test_bulk_patch_marks_messages_read_then_unread(
    org_a: Tenant, alice_gmail: Mailbox, api_a: APIClient
) -> None:
    messages = [inbound(org_a, alice_gmail) for _ in range(3)]
    ids = [m.pk for m in messages]

    read = api_a.patch(f"{BASE}/email/messages", {"ids": ids, "read": True}, format="json")
    unread = api_a.patch(f"{BASE}/email/messages", {"ids": ids[:1], "read": False}, format="json")

    assert read.status_code == 200, read.content
    assert [r["id"] for r in read.json()["results"]] == ids
    assert all(r["read"] and r["pendingSync"] for r in read.json()["results"])
    assert unread.json()["results"][0]["unread"] is True
    with org_a.scope():
        assert sorted(
            MessageCopy.objects.filter(is_read=True).values_list("message_id", flat=True)
        ) == sorted(ids[1:])


def test_bulk_patch_stars_and_archives_together(
    org_a: Tenant, alice_gmail: Mailbox, api_a: APIClient
) -> None:
    messages = [inbound(org_a, alice_gmail) for _ in range(2)]

    response = api_a.patch(
        f"{BASE}/email/messages",
        {"ids": [m.pk for m in messages], "starred": True, "archived": True},
        format="json",
    )

    assert response.status_code == 200
    for message in messages:
        copy = copy_of(org_a, message, alice_gmail)
        assert flags(copy) == (False, True, True, False)
        assert copy.pending_flags == {"is_starred": True, "is_archived": True}


def test_bulk_patch_names_unknown_and_foreign_ids_and_changes_nothing(
    org_a: Tenant, org_b: Tenant, alice_gmail: Mailbox, api_b: APIClient
) -> None:
    ours = inbound(org_a, alice_gmail)
    charlies = inbound(org_b, box(org_b, org_b.owner, "charlie@beta.test"))

    response = api_b.patch(
        f"{BASE}/email/messages",
        {"ids": [charlies.pk, ours.pk, 999999], "read": True},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["details"] == {"ids": [ours.pk, 999999]}
    with org_b.scope():
        assert MessageCopy.objects.get(message=charlies).is_read is False
    assert copy_of(org_a, ours, alice_gmail).is_read is False


def test_bulk_patch_refuses_emails_the_person_may_not_change_and_changes_nothing(
    org_a: Tenant, alice_gmail: Mailbox, bob_box: Mailbox, bob_api: APIClient
) -> None:
    his, hers = inbound(org_a, bob_box), inbound(org_a, alice_gmail)

    response = bob_api.patch(
        f"{BASE}/email/messages", {"ids": [his.pk, hers.pk], "read": True}, format="json"
    )

    assert response.status_code == 403
    assert response.json()["details"] == {"ids": [hers.pk]}
    assert copy_of(org_a, his, bob_box).is_read is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "read": True}, "ids"),
        ({"ids": list(range(1, 502)), "read": True}, "ids"),
        ({"ids": ["x"], "read": True}, "ids"),
        ({"ids": [1], "read": "maybe"}, "read"),
        ({"ids": [1]}, "non_field_errors"),
        ({"ids": [1], "read": True, "flagged": True}, "flagged"),
    ],
)
def test_bulk_patch_validates_its_body(
    org_a: Tenant, api_a: APIClient, body: dict[str, Any], field: str
) -> None:
    response = api_a.patch(f"{BASE}/email/messages", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert field in response.json()["details"]


def test_a_bulk_change_costs_the_same_queries_for_five_or_fifty_messages(
    org_a: Tenant, alice_gmail: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not counting the threads' recount: the thread funnel has its own cost and its own test
    (it still runs for real; only its queries are told apart)."""
    in_recount: list[int] = []

    def recount_counted(thread_ids: Any) -> set[int]:
        with CaptureQueriesContext(connection) as recount:
            remaining = threads_recount(thread_ids)
        in_recount.append(len(recount))
        return remaining

    monkeypatch.setattr("integrations.mail.flags.threads_recount", recount_counted)
    counts = []
    for size in (5, 50):
        messages = [inbound(org_a, alice_gmail) for _ in range(size)]
        with org_a.scope(), CaptureQueriesContext(connection) as change:
            set_flags(
                user=org_a.owner,
                message_ids=[m.pk for m in messages],
                changes={Flag.READ: True, Flag.ARCHIVED: True},
            )
        counts.append(len(change) - in_recount.pop())

    assert counts[0] == counts[1]
