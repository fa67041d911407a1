"""POST /api/v1/integrations/email/match: a manual rule that links past and future threads."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integrations.mail.matching import match_messages
from integrations.mail.models import AddressRule, LinkSource, Mailbox, ThreadLink
from tests.conftest import Tenant, token_client
from tests.factories import AccountFactory, ContactEmailFactory, ContactFactory, DealFactory
from tests.mail.factories import mail_message

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/email/match"
ALICE = "alice@alpha.test"


def _body(address: str, kind: str, pk: object) -> dict[str, object]:
    return {"emailAddress": address, "entityType": kind, "entityId": pk}


def test_matching_an_address_links_its_past_threads_to_the_record(
    api_a: APIClient, org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        mailbox.contact_creation = "none"
        deal = DealFactory(name="Rollout")
        first = mail_message(mailbox, sender="buyer@procure.test", to=[ALICE])
        second = mail_message(mailbox, sender=ALICE, to=["Buyer@Procure.test"])
        unrelated = mail_message(mailbox, sender="someone@else.test", to=[ALICE])
        match_messages(mailbox=mailbox, messages=[first, second, unrelated])

    response = api_a.post(URL, _body(" BUYER@procure.test ", "deal", deal.pk), format="json")

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "emailAddress": "buyer@procure.test",
        "entityType": "deal",
        "entityId": deal.pk,
        "linkedThreads": 2,
    }
    with org_a.scope():
        links = ThreadLink.objects.filter(deal=deal)
        assert {link.thread_id for link in links} == {first.thread_id, second.thread_id}
        assert {link.source for link in links} == {LinkSource.RULE}
        assert AddressRule.objects.get().created_by == org_a.owner


def test_future_mail_with_a_matched_address_links_as_it_arrives(
    api_a: APIClient, org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        account = AccountFactory(name="Procurement Inc")
    api_a.post(URL, _body("buyer@procure.test", "account", account.pk), format="json")

    with org_a.scope():
        later = mail_message(mailbox, sender="buyer@procure.test", to=[ALICE])
        match_messages(mailbox=mailbox, messages=[later])

        link = ThreadLink.objects.get(thread_id=later.thread_id, account=account)
        assert link.source == LinkSource.RULE


def test_a_rule_to_a_contact_wins_over_the_address_of_another_contact(
    api_a: APIClient, org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="office@acme.test")
        grace = ContactFactory()
        message = mail_message(mailbox, sender="office@acme.test", to=[ALICE])
        match_messages(mailbox=mailbox, messages=[message])

    api_a.post(URL, _body("office@acme.test", "contact", grace.pk), format="json")

    with org_a.scope():
        assert ThreadLink.objects.filter(thread_id=message.thread_id, contact=grace).exists()
        assert not ThreadLink.objects.filter(contact=ada).exists()


def test_matching_an_address_again_replaces_the_rule_and_its_links(
    api_a: APIClient, org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        first, second = ContactFactory(), ContactFactory()
        message = mail_message(mailbox, sender="buyer@procure.test", to=[ALICE])
        match_messages(mailbox=mailbox, messages=[message])

    api_a.post(URL, _body("buyer@procure.test", "contact", first.pk), format="json")
    response = api_a.post(URL, _body("buyer@procure.test", "contact", second.pk), format="json")

    assert response.json()["linkedThreads"] == 1
    with org_a.scope():
        rule = AddressRule.objects.get()
        assert (rule.contact_id, rule.account_id, rule.deal_id) == (second.pk, None, None)
        assert not ThreadLink.objects.filter(contact=first).exists()
        assert ThreadLink.objects.filter(contact=second).exists()


def test_another_organizations_record_is_a_404_and_nothing_is_written(
    api_b: APIClient, org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        contact = ContactFactory()

    response = api_b.post(URL, _body("x@y.test", "contact", contact.pk), format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "ContactNotFound"
    assert response.json()["statusCode"] == 404
    with org_b.scope():
        assert not AddressRule.objects.exists()
    with org_a.scope():
        assert not AddressRule.objects.exists()


def test_an_unknown_record_is_a_404(api_a: APIClient, org_a: Tenant) -> None:
    response = api_a.post(URL, _body("x@y.test", "account", 999999), format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "AccountNotFound"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_body("not-an-address", "contact", 1), "emailAddress"),
        (_body("a@b.test", "task", 1), "entityType"),
        (_body("a@b.test", "contact", "abc"), "entityId"),
        ({**_body("a@b.test", "contact", 1), "extra": 1}, "extra"),
    ],
)
def test_invalid_requests_are_a_400_naming_the_field(
    api_a: APIClient, body: dict[str, object], field: str
) -> None:
    response = api_a.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "InvalidRequest"
    assert field in response.json()["details"]


def test_a_read_only_token_cannot_match(org_a: Tenant) -> None:
    with org_a.scope():
        contact = ContactFactory()
    client = token_client(org_a, scopes=("read",))

    response = client.post(URL, _body("a@b.test", "contact", contact.pk), format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"
