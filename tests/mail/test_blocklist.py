"""The blocklist: what it matches, the purge when an entry is added, the API and Settings page."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.mail.blocklist import Blocklist, blocklist_value_normalize
from integrations.mail.matching import match_messages
from integrations.mail.models import BlocklistEntry, Mailbox, MailThread, Message, ThreadLink
from tests.conftest import Tenant, token_client
from tests.factories import ContactEmailFactory, ContactFactory
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/email/blocklist"
ALICE = "alice@alpha.test"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (" Bob@Acme.com ", "bob@acme.com"),
        ("@Acme.com", "@acme.com"),
        ("acme.com", "@acme.com"),
        ("*@news.acme.com", "@news.acme.com"),
    ],
)
def test_values_are_normalized(raw: str, value: str) -> None:
    assert blocklist_value_normalize(raw) == value


@pytest.mark.parametrize("raw", ["", "@", "bob@", "@localhost", "a b@acme.com", "@-acme.com"])
def test_values_that_are_neither_an_address_nor_a_domain_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        blocklist_value_normalize(raw)


def test_a_domain_entry_blocks_the_domain_and_its_subdomains_only() -> None:
    blocklist = Blocklist.of(["@acme.com", "spam@other.test"])

    assert blocklist.blocks("bob@acme.com")
    assert blocklist.blocks("bob@mail.eu.acme.com")
    assert blocklist.blocks("SPAM@other.test")
    assert not blocklist.blocks("bob@notacme.com")
    assert not blocklist.blocks("acme.com@gmail.com")
    assert not blocklist.blocks("ham@other.test")


# --- The purge ---------------------------------------------------------------------------------


@pytest.fixture
def stored(org_a: Tenant, mailbox: Mailbox) -> dict[str, Message]:
    """Matched mail: a newsletter thread, a subdomain sender, a thread with one blocked reply."""
    with org_a.scope():
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="ada@acme.test")
        pest = ContactFactory()
        ContactEmailFactory(contact=pest, email="pest@acme.test")
        news = mail_message(mailbox, sender="digest@news.test", to=[ALICE])
        sub = mail_message(mailbox, sender="promo@mail.news.test", to=[ALICE])
        kept = mail_message(mailbox, sender="ada@acme.test", to=[ALICE])
        reply = mail_message(mailbox, sender="pest@acme.test", to=[ALICE], thread=kept.thread)
        match_messages(mailbox=mailbox, messages=[news, sub, kept, reply])
    return {"news": news, "sub": sub, "kept": kept, "reply": reply}


def test_blocking_a_domain_purges_its_mail_and_subdomains_and_empty_threads(
    api_a: APIClient, org_a: Tenant, stored: dict[str, Message]
) -> None:
    response = api_a.post(URL, {"value": "@news.test"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert (body["value"], body["kind"], body["purged"]) == ("@news.test", "domain", 2)
    assert body["createdBy"] == org_a.owner.email
    with org_a.scope():
        assert not Message.objects.filter(pk__in=[stored["news"].pk, stored["sub"].pk]).exists()
        assert not MailThread.objects.filter(pk=stored["news"].thread_id).exists()
        assert MailThread.objects.filter(pk=stored["kept"].thread_id).exists()


def test_blocking_an_address_purges_its_messages_and_relinks_the_thread_left(
    api_a: APIClient, org_a: Tenant, stored: dict[str, Message]
) -> None:
    response = api_a.post(URL, {"value": "pest@acme.test"}, format="json")

    assert response.json()["purged"] == 1
    with org_a.scope():
        thread = MailThread.objects.get(pk=stored["kept"].thread_id)
        assert list(thread.messages.all()) == [stored["kept"]]
        assert thread.message_count == 1
        assert thread.last_message_at == stored["kept"].sent_at
        assert not ThreadLink.objects.filter(contact__emails__email="pest@acme.test").exists()
        assert ThreadLink.objects.filter(contact__emails__email="ada@acme.test").exists()


def test_blocking_twice_is_idempotent(api_a: APIClient, org_a: Tenant) -> None:
    first = api_a.post(URL, {"value": "@news.test"}, format="json")
    again = api_a.post(URL, {"value": "NEWS.test"}, format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    with org_a.scope():
        assert BlocklistEntry.objects.count() == 1


def test_the_organizations_own_domain_and_mailboxes_cannot_be_blocked(
    api_a: APIClient, mailbox: Mailbox
) -> None:
    for value in ("@alpha.test", "@sales.alpha.test", "@test", ALICE):
        response = api_a.post(URL, {"value": value}, format="json")
        assert response.status_code == 400, value
        assert "value" in response.json()["details"]


def test_blocking_in_one_organization_purges_nothing_of_another(
    org_a: Tenant, org_b: Tenant, api_b: APIClient, stored: dict[str, Message]
) -> None:
    response = api_b.post(URL, {"value": "@news.test"}, format="json")

    assert response.json()["purged"] == 0
    with org_a.scope():
        assert Message.objects.count() == 4


# --- Listing, removing, permissions ------------------------------------------------------------


def test_the_list_is_paged(api_a: APIClient, org_a: Tenant) -> None:
    with org_a.scope():
        for i in range(3):
            BlocklistEntry.objects.create(value=f"@spam{i}.test", created_by=org_a.owner)

    body = api_a.get(URL, {"limit": 2, "page": 2}).json()

    assert (body["total"], body["page"], body["pages"]) == (3, 2, 2)
    assert [entry["value"] for entry in body["results"]] == ["@spam2.test"]


def test_members_read_the_blocklist_but_only_admins_change_it(org_a: Tenant) -> None:
    with org_a.scope():
        entry = BlocklistEntry.objects.create(value="@spam.test")
    bob = token_client(org_a, user=org_a.member)

    assert bob.get(URL).status_code == 200
    refused = [
        bob.post(URL, {"value": "@x.test"}, format="json"),
        bob.delete(f"{URL}/{entry.pk}"),
    ]
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json()["code"] == "Forbidden"
    with org_a.scope():
        assert list(BlocklistEntry.objects.values_list("value", flat=True)) == ["@spam.test"]


def test_an_admin_unblocks_and_an_unknown_id_is_a_404(api_a: APIClient, org_a: Tenant) -> None:
    with org_a.scope():
        entry = BlocklistEntry.objects.create(value="@spam.test")

    assert api_a.delete(f"{URL}/{entry.pk}").status_code == 204
    assert api_a.delete(f"{URL}/{entry.pk}").status_code == 404
    assert api_a.delete(f"{URL}/abc").json()["code"] == "BlocklistEntryNotFound"


# --- Settings → Blocklist ----------------------------------------------------------------------


def test_an_admin_blocks_from_settings_and_sees_how_much_was_purged(
    org_a: Tenant, stored: dict[str, Message]
) -> None:
    alice = Client()
    alice.force_login(org_a.owner)

    response = alice.post(reverse("blocklist"), {"value": "news.test"}, follow=True)

    page = response.content.decode()
    assert "@news.test is blocked. 2 synced messages deleted" in page
    assert "<code>@news.test</code>" in page
    entry = response.context["page_obj"][0]

    response = alice.post(reverse("blocklist_remove", args=[entry.pk]), follow=True)

    assert "no longer blocked" in response.content.decode()
    with org_a.scope():
        assert not BlocklistEntry.objects.exists()


def test_the_settings_page_shows_errors_and_members_only_look(org_a: Tenant) -> None:
    alice, bob = Client(), Client()
    alice.force_login(org_a.owner)
    bob.force_login(org_a.member)
    with org_a.scope():
        MailboxFactory(connection=ConnectionFactory(user=org_a.owner))

    assert "is not a domain" in alice.post(reverse("blocklist"), {"value": "@x"}).content.decode()
    assert "Block an address or a domain" not in bob.get(reverse("blocklist")).content.decode()
    assert bob.post(reverse("blocklist"), {"value": "@spam.test"}).status_code == 403
    with org_a.scope():
        entry = BlocklistEntry.objects.create(value="@spam.test")
    assert bob.post(reverse("blocklist_remove", args=[entry.pk])).status_code == 403
    with org_a.scope():
        assert BlocklistEntry.objects.count() == 1
