"""Contacts: e-mail addresses with one primary, search, filters and related records."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from crm.models import Contact
from tests.conftest import Tenant
from tests.factories import ContactEmailFactory, ContactFactory
from tests.web.conftest import Records


def test_the_first_address_becomes_the_primary_one(alice: Client, org_a: Tenant) -> None:
    alice.post(
        reverse("contact_create"),
        {"first_name": "Grace", "emails": " Grace@Navy.test \n\ngrace@cobol.test\ngrace@navy.test"},
    )

    with org_a.scope():
        contact = Contact.objects.get(first_name="Grace")
        emails = [(e.email, e.is_primary) for e in contact.emails.all()]
    assert emails == [("grace@navy.test", True), ("grace@cobol.test", False)]


def test_edit_can_make_another_address_primary(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    contact = records_a.contact
    alice.post(
        reverse("contact_edit", args=[contact.pk]),
        {"first_name": "Ada", "emails": "countess@acme.test\nada@acme.test"},
    )

    with org_a.scope():
        primary = contact.emails.get(is_primary=True)
    assert primary.email == "countess@acme.test"


def test_invalid_addresses_are_named_in_the_error(alice: Client, org_a: Tenant) -> None:
    response = alice.post(reverse("contact_create"), {"emails": "ok@x.test\nnot-an-address"})

    assert "Not an e-mail address: not-an-address" in response.content.decode()
    with org_a.scope():
        assert not Contact.objects.exists()


def test_an_address_of_another_contact_is_refused_by_the_service(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    response = alice.post(
        reverse("contact_create"), {"first_name": "Eve", "emails": "ada@acme.test"}
    )

    assert response.status_code == 200
    assert "ada@acme.test already belongs to another contact." in response.content.decode()
    with org_a.scope():
        assert not Contact.objects.filter(first_name="Eve").exists()


def test_a_contact_needs_a_name_or_an_address(alice: Client) -> None:
    response = alice.post(reverse("contact_create"), {"title": "CEO"})

    assert "Give the contact a name or an e-mail address." in response.content.decode()


def test_search_matches_names_addresses_and_companies(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    with org_a.scope():
        other = ContactFactory(first_name="Alan", last_name="Turing")
        ContactEmailFactory(contact=other, email="alan@bletchley.test")

    def found(q: str) -> list[str]:
        response = alice.get(reverse("contact_list"), {"q": q})
        return [str(c) for c in response.context["page_obj"]]

    assert found("ada lovelace") == ["Ada Lovelace"]
    assert found("bletchley") == ["Alan Turing"]
    assert found("acme rockets") == ["Ada Lovelace"]
    assert found("nobody") == []


def test_owner_filter_takes_me_nobody_or_a_member(
    bob: Client, org_a: Tenant, records_a: Records
) -> None:
    with org_a.scope():
        ContactFactory(first_name="Orphan", last_name="Annie", owner=None)
        ContactFactory(first_name="Bobs", last_name="Lead", owner=org_a.member)

    def names(owner: str) -> list[str]:
        response = bob.get(reverse("contact_list"), {"owner": owner})
        return [c.first_name for c in response.context["page_obj"]]

    assert names("me") == ["Bobs"]
    assert names("none") == ["Orphan"]
    assert names(str(org_a.owner.pk)) == ["Ada"]


def test_account_filter_shows_a_removable_chip(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    with org_a.scope():
        ContactFactory(first_name="Elsewhere")

    response = alice.get(reverse("contact_list"), {"account": records_a.account.pk})

    assert [c.first_name for c in response.context["page_obj"]] == ["Ada"]
    assert "Account: Acme Rockets" in response.content.decode()


def test_sorting_by_name_both_ways(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        ContactFactory(first_name="Zed", last_name="Zimmer")

    def order(sort: str) -> list[str]:
        response = alice.get(reverse("contact_list"), {"sort": sort})
        return [c.last_name for c in response.context["page_obj"]]

    assert order("name") == ["Lovelace", "Zimmer"]
    assert order("-name") == ["Zimmer", "Lovelace"]


def test_detail_lists_the_contacts_deals_and_tasks(alice: Client, records_a: Records) -> None:
    body = alice.get(reverse("contact_detail", args=[records_a.contact.pk])).content.decode()

    assert "ada@acme.test" in body
    assert "Acme rollout" in body
    assert "Send the proposal" in body


def test_new_contact_form_offers_only_members_as_owners(
    alice: Client, org_a: Tenant, org_b: Tenant
) -> None:
    form = alice.get(reverse("contact_create")).context["form"]

    owners = set(form.fields["owner"].queryset)
    assert owners == {org_a.owner, org_a.member}
