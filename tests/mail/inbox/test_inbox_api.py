"""GET /email/inbox: conversations and messages, every filter, both providers' mail, the
mailboxes' visibility policies, paging, and bad parameters."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from integrations.mail.models import MailThread, Message, SharedInbox, Visibility
from integrations.mail.services import mailbox_update
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory
from tests.mail.inbox.support import PROVIDERS, Mail, World, build_world, store

pytestmark = pytest.mark.django_db

INBOX = "/api/v1/integrations/email/inbox"


@pytest.fixture
def world(org_a: Tenant) -> World:
    return build_world(org_a)


@pytest.fixture
def alice(org_a: Tenant) -> APIClient:
    return token_client(org_a, org_a.owner, scopes=("read",))


@pytest.fixture
def bob(org_a: Tenant) -> APIClient:
    return token_client(org_a, org_a.member, scopes=("read",))


def listed(client: APIClient, **params: Any) -> dict[str, Any]:
    response = client.get(INBOX, params)
    assert response.status_code == 200, response.content
    return response.json()


def subjects(body: dict[str, Any]) -> list[str | None]:
    return [row["subject"] for row in body["results"]]


def test_a_conversation_row_carries_people_crm_context_and_state(
    world: World, alice: APIClient
) -> None:
    body = listed(alice)
    assert body["total"] == 3 and body["page"] == 1 and body["pages"] == 1
    escalation, _renewal, pricing = body["results"]
    assert escalation["subject"] == "Escalation" and pricing["subject"] == "Pricing"
    assert pricing["snippet"] == "Thanks, reviewing it now"
    assert pricing["messageCount"] == 2
    assert pricing["unread"] is True and pricing["starred"] is False
    assert pricing["hasAttachments"] is True
    assert pricing["visibility"] == "full"
    dana = {"id": world.dana.pk, "name": "Dana Scully"}
    customer = {"id": world.customer.pk, "name": "Customer Inc"}
    assert pricing["participants"] == [
        {"address": "dana@customer.test", "name": "", "contact": dana, "account": customer},
        {"address": "alice@alpha.test", "name": "", "contact": None, "account": None},
    ]
    linked = {(e["entityType"], e["entityId"], e["name"]) for e in pricing["linked"]}
    assert linked == {("contact", world.dana.pk, "Dana Scully"), ("account", *customer.values())}
    assert pricing["sharedInbox"] is None and pricing["assignedTo"] is None
    # Held by Alice's mailbox (read) and the shared one (unread): one row, unread.
    assert escalation["messageCount"] == 1 and escalation["unread"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_folder_lists_the_conversations_with_a_message_in_it(
    org_a: Tenant, provider: str
) -> None:
    build_world(org_a, provider)
    client = token_client(org_a, org_a.owner, scopes=("read",))
    assert subjects(listed(client, folder="inbox")) == ["Escalation", "Renewal", "Pricing"]
    assert subjects(listed(client, folder="sent")) == ["Pricing"]
    assert subjects(listed(client, folder="archive")) == ["Newsletter"]
    assert subjects(listed(client, folder="starred")) == ["Renewal"]
    assert subjects(listed(client, folder="all")) == [
        "Escalation", "Renewal", "Pricing", "Newsletter",
    ]  # fmt: skip


def test_unread_true_lists_unread_conversations_and_false_the_read_ones(
    world: World, alice: APIClient
) -> None:
    assert subjects(listed(alice, unread="true")) == ["Escalation", "Pricing"]
    assert subjects(listed(alice, unread="false", folder="all")) == ["Renewal", "Newsletter"]
    assert listed(alice, unread="true")["total"] == 2


def test_mailbox_filter_lists_one_mailbox_and_another_organizations_is_a_404(
    world: World, alice: APIClient, org_b: Tenant
) -> None:
    body = listed(alice, mailbox=world.alice.pk, folder="all")
    assert subjects(body) == ["Escalation", "Pricing", "Newsletter"]
    # The mailbox's own state: Alice read the escalation.
    assert body["results"][0]["unread"] is False
    assert subjects(listed(alice, mailbox=world.sales.pk)) == ["Escalation"]
    charlie = token_client(org_b, scopes=("read",))
    response = charlie.get(INBOX, {"mailbox": world.alice.pk})
    assert response.status_code == 404 and response.json()["code"] == "MailboxNotFound"


def test_shared_inbox_and_assignee_filters(org_a: Tenant, world: World, alice: APIClient) -> None:
    with org_a.scope():
        support = SharedInbox.objects.create(name="Support", color="#00AA00")
        mailbox_update(mailbox=world.sales, shared_inbox=support)
        renewal = MailThread.objects.get(subject="Renewal")
        renewal.assigned_to = org_a.member
        renewal.save(update_fields=["assigned_to"])
    body = listed(alice, sharedInbox=support.pk)
    assert subjects(body) == ["Escalation"]
    assert body["results"][0]["sharedInbox"] == {
        "id": support.pk,
        "name": "Support",
        "color": "#00AA00",
    }
    assigned = listed(alice, assignedTo=org_a.member.pk)
    assert subjects(assigned) == ["Renewal"]
    assert assigned["results"][0]["assignedTo"]["email"] == "bob@alpha.test"
    bob = token_client(org_a, org_a.member, scopes=("read",))
    assert subjects(listed(bob, assignedTo="me")) == ["Renewal"]
    assert listed(alice, assignedTo="me")["total"] == 0


def test_direction_filter(world: World, alice: APIClient) -> None:
    assert subjects(listed(alice, direction="outbound", folder="all")) == ["Pricing"]
    inbound = subjects(listed(alice, direction="inbound", folder="all"))
    assert inbound == ["Escalation", "Renewal", "Pricing", "Newsletter"]


def test_entity_filter_lists_the_records_conversations(
    org_a: Tenant, world: World, alice: APIClient, org_b: Tenant
) -> None:
    body = listed(alice, entityType="contact", entityId=world.dana.pk, folder="all")
    assert subjects(body) == ["Escalation", "Renewal", "Pricing"]
    assert listed(alice, entityType="account", entityId=world.customer.pk)["total"] == 3
    with org_b.scope():
        foreign = ContactFactory()
    response = alice.get(INBOX, {"entityType": "contact", "entityId": foreign.pk})
    assert response.status_code == 404 and response.json()["code"] == "ContactNotFound"
    assert alice.get(INBOX, {"entityType": "contact"}).status_code == 400


def test_messages_view_lists_each_message_once(world: World, alice: APIClient) -> None:
    body = listed(alice, view="messages", folder="all")
    assert [row["subject"] for row in body["results"]] == [
        "Escalation", "Renewal", "Re: Pricing", "Pricing", "Newsletter",
    ]  # fmt: skip
    assert body["total"] == 5
    pricing = body["results"][3]
    assert pricing["from"]["address"] == "dana@customer.test"
    assert pricing["from"]["contact"]["name"] == "Dana Scully"
    assert [p["address"] for p in pricing["to"]] == ["alice@alpha.test"]
    assert pricing["direction"] == "inbound" and pricing["hasAttachments"] is True
    assert pricing["unread"] is True and pricing["threadId"] == body["results"][2]["threadId"]
    assert [r["subject"] for r in listed(alice, view="messages", folder="sent")["results"]] == [
        "Re: Pricing"
    ]
    unread = listed(alice, view="messages", unread="true")
    assert [r["subject"] for r in unread["results"]] == ["Escalation", "Pricing"]
    assert unread["total"] == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("price", ["Pricing"]),
        ('"price list"', ["Pricing"]),
        ('"list price"', []),
        ("from:dana", ["Escalation", "Renewal", "Pricing"]),
        ("from:alice@alpha.test", ["Pricing"]),
        ("to:sales", ["Escalation"]),
        ("subject:renewal", ["Renewal"]),
        ("has:attachment", ["Pricing"]),
        ("before:2026-03-02 has:attachment", []),
        ("after:2026-03-02 from:news", ["Newsletter"]),
        ("from:dana outage", ["Escalation"]),
    ],
)
def test_search_words_phrases_and_operators(
    world: World, alice: APIClient, query: str, expected: list[str]
) -> None:
    body = listed(alice, q=query, folder="all")
    assert subjects(body) == expected
    assert body["total"] == len(expected)


def test_search_finds_messages_in_the_messages_view(world: World, alice: APIClient) -> None:
    body = listed(alice, q="reviewing", view="messages", folder="all")
    assert [row["subject"] for row in body["results"]] == ["Re: Pricing"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"folder": "spam"}, "folder"),
        ({"view": "threads"}, "view"),
        ({"unread": "maybe"}, "unread"),
        ({"page": "0"}, "page"),
        ({"limit": "x"}, "limit"),
        ({"direction": "sideways"}, "direction"),
        ({"assignedTo": "someone"}, "assignedTo"),
        ({"q": 'from:"unclosed'}, "q"),
        ({"q": "before:yesterday"}, "q"),
        ({"sort": "oldest"}, "sort"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(
    world: World, alice: APIClient, params: dict[str, str], field: str
) -> None:
    response = alice.get(INBOX, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidRequest" and field in body["details"]


def test_an_assignee_outside_the_organization_is_a_400(
    world: World, alice: APIClient, org_b: Tenant
) -> None:
    response = alice.get(INBOX, {"assignedTo": org_b.owner.pk})
    assert response.status_code == 400 and "assignedTo" in response.json()["details"]


def test_unknown_shared_inbox_is_a_404(world: World, alice: APIClient) -> None:
    response = alice.get(INBOX, {"sharedInbox": 999999})
    assert response.status_code == 404 and response.json()["code"] == "SharedInboxNotFound"


# -- visibility ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visibility", "subject", "snippet"),
    [
        (Visibility.FULL, "Renewal", "Time to renew the licence"),
        (Visibility.SUBJECT, "Renewal", None),
        (Visibility.METADATA, None, None),
    ],
)
def test_a_teammates_mailbox_shows_at_its_visibility_level(
    org_a: Tenant, world: World, alice: APIClient, visibility: str, subject: Any, snippet: Any
) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.bob, visibility=visibility)
        outsider = _member(org_a, "carol@alpha.test")
    carol = token_client(org_a, outsider, scopes=("read",))
    row = listed(carol, mailbox=world.bob.pk)["results"][0]
    assert (row["subject"], row["snippet"], row["visibility"]) == (subject, snippet, visibility)
    assert row["participants"][0]["address"] == "dana@customer.test"
    # The mailbox's owner and the organization's admins see it in full.
    assert listed(alice, mailbox=world.bob.pk)["results"][0]["visibility"] == "full"


def test_search_never_looks_into_what_the_person_may_not_read(org_a: Tenant, world: World) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.bob, visibility=Visibility.METADATA)
        outsider = _member(org_a, "carol@alpha.test")
    carol = token_client(org_a, outsider, scopes=("read",))
    assert listed(carol, q="licence", folder="all")["total"] == 0
    assert listed(carol, q="subject:renewal", folder="all")["total"] == 0
    # Who and when is what the metadata level shows: searching by sender still finds it.
    assert listed(carol, q="from:dana", mailbox=world.bob.pk)["total"] == 1


def test_a_private_mailbox_is_listed_for_its_owner_and_admins_only(
    org_a: Tenant, world: World, alice: APIClient
) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.bob, visibility=Visibility.PRIVATE)
        outsider = _member(org_a, "carol@alpha.test")
    carol = token_client(org_a, outsider, scopes=("read",))
    assert "Renewal" not in subjects(listed(carol, folder="all"))
    assert carol.get(INBOX, {"mailbox": world.bob.pk}).status_code == 404
    bob = token_client(org_a, org_a.member, scopes=("read",))
    assert "Renewal" in subjects(listed(bob, folder="all"))
    # Alice (owner) sees the team's mail and the private mailbox, each conversation once.
    everything = listed(alice, folder="all")
    assert subjects(everything) == ["Escalation", "Renewal", "Pricing", "Newsletter"]
    assert everything["total"] == 4


def test_a_conversation_in_a_private_and_a_team_mailbox_is_listed_once(
    org_a: Tenant, world: World, alice: APIClient
) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.sales, visibility=Visibility.PRIVATE)
        store(world.sales, Mail("s9", "dana@customer.test", ["sales@alpha.test"], at=50))
    body = listed(alice, folder="all")
    assert subjects(body) == ["Proposal", "Escalation", "Renewal", "Pricing", "Newsletter"]
    assert body["total"] == 5
    assert listed(alice, folder="all", page=2, limit=2)["results"][0]["subject"] == "Renewal"
    # Its state comes from every mailbox in scope: unread in the shared mailbox.
    assert body["results"][1]["unread"] is True


def _member(org: Tenant, email: str) -> Any:
    from crm.models import Role
    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(email=email)
    MembershipFactory(user=user, organization=org.organization, role=Role.MEMBER)
    return user


# -- paging --------------------------------------------------------------------------------------


def test_pages_follow_each_other_and_end_empty(org_a: Tenant, world: World) -> None:
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    first = listed(alice, folder="all", limit=3)
    second = listed(alice, folder="all", limit=3, page=2)
    assert first["total"] == second["total"] == 4 and first["pages"] == 2
    assert subjects(first) + subjects(second) == subjects(listed(alice, folder="all"))
    assert listed(alice, folder="all", limit=3, page=3)["results"] == []


def test_a_page_costs_the_same_queries_whatever_its_size(org_a: Tenant, world: World) -> None:
    with org_a.scope():
        store(
            world.alice,
            *[
                Mail(f"x{i}", f"p{i}@people.test", ["alice@alpha.test"], at=60 + i)
                for i in range(8)
            ],
        )
        assert Message.objects.count() > 10
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    alice.get(INBOX)  # the token's first use is recorded once
    counts = []
    for limit in (2, 10):
        for view in ("conversations", "messages"):
            with CaptureQueriesContext(connection) as queries:
                assert alice.get(INBOX, {"limit": limit, "view": view}).status_code == 200
            counts.append((view, len(queries)))
    assert counts[:2] == counts[2:]


def test_a_search_finding_many_conversations_gives_the_same_page(
    world: World, alice: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    few = listed(alice, q="from:dana", folder="all")
    monkeypatch.setattr("integrations.mail.selectors_inbox_scope.SEARCH_IDS", 1)
    many = listed(alice, q="from:dana", folder="all")
    assert many == few and many["total"] == 3
    assert listed(alice, q="dana", view="messages", folder="all")["total"] == 4
