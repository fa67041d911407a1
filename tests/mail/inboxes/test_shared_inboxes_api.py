"""Shared inboxes (seed 003): members read them, owners and admins create, change and delete
them; a deleted inbox hands its mailboxes and conversations to a successor, and the default
inbox always exists and is never deleted."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from integrations.mail.models import Mailbox, MailThread, SharedInbox, SharedInboxAssignee
from integrations.mail.selectors_inboxes import threads_with_inbox
from tests.conftest import Tenant, token_client
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message
from tests.mail.inboxes.conftest import BASE

pytestmark = pytest.mark.django_db

INBOXES = f"{BASE}/shared-inboxes"


def _create(client: APIClient, **body: Any) -> dict[str, Any]:
    response = client.post(INBOXES, {"color": "#2196F3", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_default_inbox_always_exists_and_comes_first(org_a: Tenant, api_a: APIClient) -> None:
    _create(api_a, name="Sales inquiries")

    listed = api_a.get(INBOXES).json()

    assert [(i["name"], i["is_default"]) for i in listed] == [
        ("Team inbox", True),
        ("Sales inquiries", False),
    ]
    default = api_a.get(f"{INBOXES}/default").json()
    assert default == listed[0]


def test_an_admin_creates_an_inbox_with_its_team(org_a: Tenant, api_a: APIClient) -> None:
    body = _create(
        api_a,
        name="  Customer Support ",
        color="#4caf50",
        description="Incoming customer support requests",
        assignees=[org_a.member.pk, org_a.owner.pk, org_a.member.pk],
    )

    assert body["name"] == "Customer Support"
    assert body["color"] == "#4caf50"
    assert body["description"] == "Incoming customer support requests"
    assert body["assignees"] == sorted([org_a.owner.pk, org_a.member.pk])
    assert body["is_default"] is False
    assert body["mailbox_count"] == 0
    assert api_a.get(f"{INBOXES}/{body['id']}").json() == body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Support", "color": "green"}, "color"),
        ({"name": "Support", "color": "#12345"}, "color"),
        ({"name": "Support", "color": "#1234567"}, "color"),
        ({"name": "Support"}, "color"),
        ({"name": "", "color": "#123456"}, "name"),
        ({"color": "#123456"}, "name"),
        ({"name": "x" * 121, "color": "#123456"}, "name"),
        ({"name": "Support", "color": "#123456", "description": "x" * 301}, "description"),
        ({"name": "Support", "color": "#123456", "assignees": ["bob"]}, "assignees"),
        ({"name": "Support", "color": "#123456", "bucket_id": "b-1"}, "bucket_id"),
    ],
)
def test_invalid_fields_are_a_400_naming_them(
    org_a: Tenant, api_a: APIClient, body: dict[str, Any], field: str
) -> None:
    response = api_a.post(INBOXES, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert field in response.json()["details"]
    with org_a.scope():
        assert not SharedInbox.objects.filter(is_default=False).exists()


def test_an_assignee_outside_the_organization_is_a_400(
    org_a: Tenant, org_b: Tenant, api_a: APIClient
) -> None:
    response = api_a.post(
        INBOXES,
        {"name": "Support", "color": "#123456", "assignees": [org_b.owner.pk]},
        format="json",
    )

    assert response.status_code == 400
    assert "assignees" in response.json()["details"]
    with org_a.scope():
        assert not SharedInbox.objects.filter(name="Support").exists()


def test_a_name_taken_in_any_case_is_a_409(
    org_a: Tenant, org_b: Tenant, api_a: APIClient, api_b: APIClient
) -> None:
    support = _create(api_a, name="Support")
    sales = _create(api_a, name="Sales")

    created = api_a.post(INBOXES, {"name": "SUPPORT", "color": "#123456"}, format="json")
    renamed = api_a.put(f"{INBOXES}/{sales['id']}", {"name": "support "}, format="json")

    assert (created.status_code, created.json()["code"]) == (409, "SharedInboxNameTaken")
    assert (renamed.status_code, renamed.json()["code"]) == (409, "SharedInboxNameTaken")
    kept = api_a.put(f"{INBOXES}/{support['id']}", {"name": "Support"}, format="json")
    assert kept.status_code == 200
    assert _create(api_b, name="Support")["name"] == "Support"


def test_put_changes_only_the_fields_given_and_replaces_the_team(
    org_a: Tenant, api_a: APIClient
) -> None:
    inbox = _create(api_a, name="Support", description="Help", assignees=[org_a.member.pk])

    response = api_a.put(
        f"{INBOXES}/{inbox['id']}",
        {"color": "#000000", "assignees": [org_a.owner.pk]},
        format="json",
    )

    body = response.json()
    assert response.status_code == 200
    assert (body["name"], body["color"], body["description"]) == ("Support", "#000000", "Help")
    assert body["assignees"] == [org_a.owner.pk]
    with org_a.scope():
        assert list(SharedInboxAssignee.objects.values_list("user_id", flat=True)) == [
            org_a.owner.pk
        ]


def test_members_read_inboxes_but_only_admins_change_them(org_a: Tenant, api_a: APIClient) -> None:
    inbox = _create(api_a, name="Support")
    bob = token_client(org_a, org_a.member)
    detail = f"{INBOXES}/{inbox['id']}"

    assert bob.get(INBOXES).status_code == 200
    assert bob.get(detail).json()["name"] == "Support"
    refused = [
        bob.post(INBOXES, {"name": "Mine", "color": "#123456"}, format="json"),
        bob.put(detail, {"name": "Mine"}, format="json"),
        bob.delete(detail),
    ]
    assert [(r.status_code, r.json()["code"]) for r in refused] == [(403, "Forbidden")] * 3
    assert api_a.get(detail).json()["name"] == "Support"


def test_the_default_inbox_cannot_be_deleted(org_a: Tenant, api_a: APIClient) -> None:
    default = api_a.get(f"{INBOXES}/default").json()

    by_alias = api_a.delete(f"{INBOXES}/default")
    by_id = api_a.delete(f"{INBOXES}/{default['id']}")

    for response in (by_alias, by_id):
        assert response.status_code == 400
        assert response.json()["code"] == "DefaultSharedInboxProtected"
    assert api_a.get(f"{INBOXES}/{default['id']}").status_code == 200


def _support_with_mail(org_a: Tenant, api_a: APIClient) -> tuple[SharedInbox, Mailbox, list[int]]:
    """Support holds Bob's mailbox: one conversation routed to it, one still unrouted."""
    inbox_id = _create(api_a, name="Support")["id"]
    with org_a.scope():
        support = SharedInbox.objects.get(pk=inbox_id)
        box: Mailbox = MailboxFactory(
            connection=ConnectionFactory(user=org_a.member), shared_inbox=support
        )
        routed = mail_message(box, sender="ada@acme.test", to=[box.address]).thread
        MailThread.objects.filter(pk=routed.pk).update(shared_inbox=support)
        unrouted = mail_message(box, sender="grace@acme.test", to=[box.address]).thread
    return support, box, [routed.pk, unrouted.pk]


def _inbox_of_threads(org_a: Tenant, thread_ids: list[int]) -> set[int]:
    with org_a.scope():
        threads = threads_with_inbox(MailThread.objects.filter(pk__in=thread_ids))
        return set(threads.values_list("inbox_id", flat=True))


def test_deleting_an_inbox_moves_its_mailboxes_and_conversations_to_the_successor(
    org_a: Tenant, api_a: APIClient
) -> None:
    support, box, threads = _support_with_mail(org_a, api_a)
    sales = _create(api_a, name="Sales")
    assert _inbox_of_threads(org_a, threads) == {support.pk}

    response = api_a.delete(f"{INBOXES}/{support.pk}?successorInboxId={sales['id']}")

    assert response.status_code == 204
    assert api_a.get(f"{INBOXES}/{support.pk}").status_code == 404
    with org_a.scope():
        assert Mailbox.objects.get(pk=box.pk).shared_inbox_id == sales["id"]
        assert MailThread.objects.get(pk=threads[0]).shared_inbox_id == sales["id"]
    assert _inbox_of_threads(org_a, threads) == {sales["id"]}
    assert api_a.get(f"{INBOXES}/{sales['id']}").json()["mailbox_count"] == 1


def test_deleting_an_inbox_without_a_successor_moves_everything_to_the_default(
    org_a: Tenant, api_a: APIClient
) -> None:
    support, box, threads = _support_with_mail(org_a, api_a)

    assert api_a.delete(f"{INBOXES}/{support.pk}").status_code == 204

    default = api_a.get(f"{INBOXES}/default").json()
    with org_a.scope():
        assert Mailbox.objects.get(pk=box.pk).shared_inbox_id == default["id"]
    assert _inbox_of_threads(org_a, threads) == {default["id"]}


@pytest.mark.parametrize("successor", ["itself", "unknown", "foreign", "nonsense"])
def test_a_successor_that_is_not_another_inbox_of_the_organization_is_a_400(
    org_a: Tenant, org_b: Tenant, api_a: APIClient, api_b: APIClient, successor: str
) -> None:
    support, box, threads = _support_with_mail(org_a, api_a)
    key = {
        "itself": str(support.pk),
        "unknown": "999999",
        "foreign": str(_create(api_b, name="Beta support")["id"]),
        "nonsense": "sales",
    }[successor]

    response = api_a.delete(f"{INBOXES}/{support.pk}?successorInboxId={key}")

    assert response.status_code == 400
    assert "successorInboxId" in response.json()["details"]
    with org_a.scope():
        assert Mailbox.objects.get(pk=box.pk).shared_inbox_id == support.pk
    assert _inbox_of_threads(org_a, threads) == {support.pk}
