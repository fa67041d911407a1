"""Accounts (domains, related records) and deals (stage filter, contacts, amounts)."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.urls import reverse

from crm.models import Account, Deal, DealStage
from tests.conftest import Tenant
from tests.factories import AccountDomainFactory, AccountFactory, ContactFactory, DealFactory
from tests.web.conftest import Records


def test_account_domains_are_normalized(alice: Client, org_a: Tenant) -> None:
    alice.post(
        reverse("account_create"),
        {"name": "Initech", "domains": "https://www.Initech.test/about\n@initech.io, initech.test"},
    )

    with org_a.scope():
        account = Account.objects.get(name="Initech")
        domains = sorted(account.domains.values_list("domain", flat=True))
    assert domains == ["initech.io", "initech.test"]


def test_a_domain_of_another_account_is_refused(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    response = alice.post(reverse("account_create"), {"name": "Copycat", "domains": "acme.test"})

    assert "acme.test already belongs to another account." in response.content.decode()
    with org_a.scope():
        assert not Account.objects.filter(name="Copycat").exists()


def test_account_search_matches_domains(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        AccountDomainFactory(account=AccountFactory(name="Globex"), domain="globex.test")

    response = alice.get(reverse("account_list"), {"q": "globex.te"})

    assert [a.name for a in response.context["page_obj"]] == ["Globex"]


def test_accounts_sort_by_contact_count(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        busy = AccountFactory(name="Busy")
        for _ in range(3):
            ContactFactory(account=busy)

    response = alice.get(reverse("account_list"), {"sort": "-contacts"})

    assert [(a.name, a.contact_count) for a in response.context["page_obj"]] == [
        ("Busy", 3),
        ("Acme Rockets", 1),
    ]


def test_account_detail_lists_contacts_deals_and_tasks(alice: Client, records_a: Records) -> None:
    body = alice.get(reverse("account_detail", args=[records_a.account.pk])).content.decode()

    for text in ("acme.test", "Ada Lovelace", "Acme rollout", "Send the proposal"):
        assert text in body


def test_deal_is_saved_with_its_contacts_and_amount(
    alice: Client, org_a: Tenant, records_a: Records
) -> None:
    alice.post(
        reverse("deal_create"),
        {
            "name": "Big one",
            "stage": "negotiation",
            "amount": "1250000.50",
            "currency": "eur",
            "contacts": [records_a.contact.pk],
        },
    )

    with org_a.scope():
        deal = Deal.objects.get(name="Big one")
        assert list(deal.contacts.all()) == [records_a.contact]
    assert (deal.stage, deal.amount, deal.currency) == (
        DealStage.NEGOTIATION,
        Decimal("1250000.50"),
        "EUR",
    )


def test_deal_edit_can_drop_contacts(alice: Client, org_a: Tenant, records_a: Records) -> None:
    alice.post(
        reverse("deal_edit", args=[records_a.deal.pk]),
        {"name": "Acme rollout", "stage": "lead", "currency": "USD", "contacts": []},
    )

    with org_a.scope():
        assert not records_a.deal.contacts.exists()


def test_deal_currency_must_be_three_letters(alice: Client) -> None:
    response = alice.post(reverse("deal_create"), {"name": "x", "stage": "lead", "currency": "€€€"})

    assert "three-letter currency code" in response.content.decode()


def test_deals_filter_by_stage(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        DealFactory(name="Closed one", stage=DealStage.WON)

    response = alice.get(reverse("deal_list"), {"stage": "won"})

    assert [d.name for d in response.context["page_obj"]] == ["Closed one"]
    assert alice.get(reverse("deal_list"), {"stage": "bogus"}).status_code == 200


def test_deals_of_a_contact(alice: Client, org_a: Tenant, records_a: Records) -> None:
    with org_a.scope():
        DealFactory(name="Unrelated")

    response = alice.get(reverse("deal_list"), {"contact": records_a.contact.pk})

    assert [d.name for d in response.context["page_obj"]] == ["Acme rollout"]


def test_deal_detail_lists_contacts_and_tasks(alice: Client, records_a: Records) -> None:
    body = alice.get(reverse("deal_detail", args=[records_a.deal.pk])).content.decode()

    assert "Ada Lovelace" in body
    assert "Send the proposal" in body
    assert "12,000" in body
