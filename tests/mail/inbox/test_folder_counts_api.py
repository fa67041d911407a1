"""GET /email/folders/counts: conversations and unread ones per folder, from the counters, equal
to what the inbox lists — for the whole scope, one mailbox, and a scope with a private mailbox."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from integrations.mail.models import InboxFolder, Visibility
from integrations.mail.services import mailbox_update
from tests.conftest import Tenant, token_client
from tests.mail.inbox.support import Mail, World, build_world, change, store

pytestmark = pytest.mark.django_db

COUNTS = "/api/v1/integrations/email/folders/counts"
INBOX = "/api/v1/integrations/email/inbox"


def counts(client: APIClient, **params: Any) -> dict[str, Any]:
    response = client.get(COUNTS, params)
    assert response.status_code == 200, response.content
    return response.json()


def listed_totals(client: APIClient, **params: Any) -> dict[str, dict[str, int]]:
    """What the inbox itself lists, folder by folder."""
    totals = {}
    for folder in InboxFolder:
        every = client.get(INBOX, {"folder": folder.value, **params}).json()["total"]
        unread = client.get(INBOX, {"folder": folder.value, "unread": "true", **params})
        totals[folder.value] = {"total": every, "unread": unread.json()["total"]}
    return totals


@pytest.fixture
def world(org_a: Tenant) -> World:
    return build_world(org_a)


def test_counts_per_folder_for_the_whole_scope(org_a: Tenant, world: World) -> None:
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    assert counts(alice) == {
        "inbox": {"total": 3, "unread": 2},
        "sent": {"total": 1, "unread": 1},
        "archive": {"total": 1, "unread": 0},
        "starred": {"total": 1, "unread": 0},
        "all": {"total": 4, "unread": 2},
    }
    assert counts(alice) == listed_totals(alice)


def test_counts_of_one_mailbox_and_after_the_provider_changes_a_message(
    org_a: Tenant, world: World
) -> None:
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    mine = counts(alice, mailbox=world.alice.pk)
    assert mine["inbox"] == {"total": 2, "unread": 1}
    with org_a.scope():
        change(world.alice, "p1", place="archive", read=True, starred=True)
        store(world.alice, Mail("p3", "dana@customer.test", ["alice@alpha.test"], at=90))
    mine = counts(alice, mailbox=world.alice.pk)
    assert mine["inbox"] == {"total": 2, "unread": 1}
    assert mine["starred"] == {"total": 1, "unread": 0}
    assert mine == listed_totals(alice, mailbox=world.alice.pk)
    assert counts(alice) == listed_totals(alice)


def test_counts_with_a_private_mailbox_in_scope_count_each_conversation_once(
    org_a: Tenant, world: World
) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.sales, visibility=Visibility.PRIVATE)
        store(world.sales, Mail("s9", "dana@customer.test", ["sales@alpha.test"], at=50))
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    bob = token_client(org_a, org_a.member, scopes=("read",))
    for client in (alice, bob):
        assert counts(client) == listed_totals(client)
    assert counts(alice)["all"]["total"] == 5


def test_another_organizations_mailbox_is_a_404_and_unknown_parameters_a_400(
    world: World, org_b: Tenant
) -> None:
    charlie = token_client(org_b, scopes=("read",))
    response = charlie.get(COUNTS, {"mailbox": world.alice.pk})
    assert response.status_code == 404 and response.json()["code"] == "MailboxNotFound"
    assert counts(charlie)["all"] == {"total": 0, "unread": 0}
    response = charlie.get(COUNTS, {"folder": "inbox"})
    assert response.status_code == 400 and "folder" in response.json()["details"]
