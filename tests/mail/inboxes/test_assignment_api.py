"""Assigning a conversation to a team member: only to members who may see it, by anyone who may
see it; the answer names the conversation's shared inbox."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import User
from integrations.mail.models import MailThread, SharedInbox, Visibility
from tests.conftest import Tenant, token_client
from tests.mail.inboxes.conftest import BASE, AdaMail

pytestmark = pytest.mark.django_db


def _assign(client: APIClient, thread: MailThread, user_id: int | None) -> dict:
    response = client.post(f"{BASE}/thread/{thread.pk}/assign", {"userId": user_id}, format="json")
    return {"status": response.status_code, **response.json()}


def _stored(org_a: Tenant, thread: MailThread) -> MailThread:
    with org_a.scope():
        return MailThread.objects.get(pk=thread.pk)


def test_assigning_a_conversation_records_who_and_when(
    org_a: Tenant, ada: AdaMail, erin: User
) -> None:
    bob = token_client(org_a, org_a.member)

    body = _assign(bob, ada.thread, erin.pk)

    assert body["status"] == 200
    assert body["threadId"] == ada.thread.pk
    assert body["assignedTo"] == {"id": erin.pk, "email": erin.email, "name": erin.display_name}
    assert body["assignedAt"] is not None
    stored = _stored(org_a, ada.thread)
    assert stored.assigned_to_id == erin.pk
    assert stored.assigned_at is not None


def test_null_unassigns_a_conversation(org_a: Tenant, ada: AdaMail, api_a: APIClient) -> None:
    _assign(api_a, ada.thread, org_a.member.pk)

    body = _assign(api_a, ada.thread, None)

    assert (body["status"], body["assignedTo"], body["assignedAt"]) == (200, None, None)
    stored = _stored(org_a, ada.thread)
    assert (stored.assigned_to_id, stored.assigned_at) == (None, None)


def test_someone_outside_the_organization_cannot_be_assigned(
    org_a: Tenant, org_b: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    body = _assign(api_a, ada.thread, org_b.owner.pk)

    assert (body["status"], body["code"]) == (400, "InvalidRequest")
    assert "userId" in body["details"]
    assert _stored(org_a, ada.thread).assigned_to_id is None


def test_a_member_who_may_not_see_the_conversation_cannot_be_assigned(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, erin: User
) -> None:
    with org_a.scope():
        ada.mailbox.visibility = Visibility.PRIVATE
        ada.mailbox.save(update_fields=["visibility"])

    refused = _assign(api_a, ada.thread, erin.pk)
    owner = _assign(api_a, ada.thread, org_a.member.pk)

    assert refused["status"] == 400 and "userId" in refused["details"]
    assert owner["status"] == 200 and owner["assignedTo"]["id"] == org_a.member.pk


def test_a_conversation_the_caller_may_not_see_is_a_404(
    org_a: Tenant, ada: AdaMail, erin: User
) -> None:
    with org_a.scope():
        ada.mailbox.visibility = Visibility.PRIVATE
        ada.mailbox.save(update_fields=["visibility"])

    body = _assign(token_client(org_a, erin), ada.thread, erin.pk)

    assert (body["status"], body["code"]) == (404, "ThreadNotFound")
    assert _stored(org_a, ada.thread).assigned_to_id is None


def test_a_read_only_token_cannot_assign(org_a: Tenant, ada: AdaMail) -> None:
    reader = token_client(org_a, org_a.owner, scopes=("read",))

    assert _assign(reader, ada.thread, org_a.owner.pk)["status"] == 403


def test_the_conversation_is_in_its_mailboxs_inbox_until_routed_elsewhere(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_a.scope():
        support = SharedInbox.objects.create(name="Support")
        sales = SharedInbox.objects.create(name="Sales")
        ada.mailbox.shared_inbox = support
        ada.mailbox.save(update_fields=["shared_inbox"])

    unrouted = _assign(api_a, ada.thread, org_a.owner.pk)
    with org_a.scope():
        MailThread.objects.filter(pk=ada.thread.pk).update(shared_inbox=sales)
    routed = _assign(api_a, ada.thread, org_a.owner.pk)

    assert unrouted["sharedInboxId"] == support.pk
    assert routed["sharedInboxId"] == sales.pk
