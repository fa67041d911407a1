"""Linking a conversation to a contact, account or deal by hand, and unlinking it for good:
neither relinking past mail nor a new message in the thread brings an unlinked record back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm import services
from crm.models import User
from integrations.mail.matching import match_messages
from integrations.mail.models import LinkSource, ThreadLink, ThreadLinkSuppression, Visibility
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory
from tests.mail.factories import mail_message
from tests.mail.inboxes.conftest import BASE, AdaMail

pytestmark = pytest.mark.django_db

Commit = Callable[[], None]


def _links_url(ada: AdaMail) -> str:
    return f"{BASE}/thread/{ada.thread.pk}/links"


def _link(client: APIClient, ada: AdaMail, kind: str, pk: int) -> Any:
    return client.post(_links_url(ada), {"entityType": kind, "entityId": pk}, format="json")


def _unlink(client: APIClient, ada: AdaMail, kind: str, pk: int) -> Any:
    return client.delete(f"{_links_url(ada)}/{kind}/{pk}")


def _links(org_a: Tenant, ada: AdaMail) -> dict[tuple[str, int], str]:
    with org_a.scope():
        rows = ThreadLink.objects.filter(thread=ada.thread)
        return {
            next(
                (kind, pk)
                for kind, pk in (
                    ("contact", row.contact_id),
                    ("account", row.account_id),
                    ("deal", row.deal_id),
                )
                if pk is not None
            ): row.source
            for row in rows
        }


def test_a_conversation_lists_its_links_with_names_and_sources(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    body = api_a.get(_links_url(ada)).json()

    assert [(r["entityType"], r["entityId"], r["name"], r["source"]) for r in body] == [
        ("contact", ada.contact.pk, "Ada Lovelace", "automatic"),
        ("account", ada.account.pk, "Acme", "automatic"),
        ("deal", ada.deal.pk, "Acme renewal", "automatic"),
    ]


def test_linking_by_hand_adds_a_manual_link_once(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_a.scope():
        grace = ContactFactory(first_name="Grace", last_name="Hopper")

    first = _link(api_a, ada, "contact", grace.pk)
    again = _link(api_a, ada, "contact", grace.pk)

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["name"] == "Grace Hopper" and first.json()["source"] == "manual"
    assert _links(org_a, ada)[("contact", grace.pk)] == LinkSource.MANUAL
    with org_a.scope():
        link = ThreadLink.objects.get(thread=ada.thread, contact=grace)
        assert link.created_by_id == org_a.owner.pk


def test_linking_a_matched_record_by_hand_keeps_it_when_the_match_goes(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, commit: Commit
) -> None:
    assert _link(api_a, ada, "contact", ada.contact.pk).json()["source"] == "manual"

    with org_a.scope():
        services.contact_save(contact=ada.contact, emails=["ada@elsewhere.test"])
    commit()

    assert _links(org_a, ada)[("contact", ada.contact.pk)] == LinkSource.MANUAL


def test_an_unlinked_record_stays_unlinked_when_past_mail_is_relinked(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, commit: Commit
) -> None:
    response = _unlink(api_a, ada, "contact", ada.contact.pk)

    assert response.status_code == 204
    with org_a.scope():
        services.contact_save(contact=ada.contact, title="CTO", emails=["ada@acme.test"])
    commit()

    links = _links(org_a, ada)
    assert ("contact", ada.contact.pk) not in links
    assert ("account", ada.account.pk) in links


def test_a_new_message_in_the_conversation_does_not_link_an_unlinked_record_again(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    assert _unlink(api_a, ada, "deal", ada.deal.pk).status_code == 204

    with org_a.scope():
        reply = mail_message(
            ada.mailbox, sender="ada@acme.test", to=[ada.mailbox.address], thread=ada.thread
        )
        match_messages(mailbox=ada.mailbox, messages=[reply])

    links = _links(org_a, ada)
    assert ("deal", ada.deal.pk) not in links
    assert ("contact", ada.contact.pk) in links


def test_linking_by_hand_after_unlinking_brings_the_record_back_for_good(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, commit: Commit
) -> None:
    _unlink(api_a, ada, "account", ada.account.pk)

    assert _link(api_a, ada, "account", ada.account.pk).status_code == 201
    with org_a.scope():
        assert not ThreadLinkSuppression.objects.exists()
        services.account_save(account=ada.account, name="Acme Corp")
    commit()

    assert _links(org_a, ada)[("account", ada.account.pk)] == LinkSource.MANUAL


def test_unlinking_a_record_that_is_not_linked_is_a_404(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_a.scope():
        grace = ContactFactory()

    responses = [
        _unlink(api_a, ada, "contact", grace.pk),
        _unlink(api_a, ada, "contact", 999999),
        _unlink(api_a, ada, "task", ada.contact.pk),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert responses[0].json()["code"] == "ThreadLinkNotFound"
    with org_a.scope():
        assert not ThreadLinkSuppression.objects.exists()


def test_another_organizations_record_cannot_be_linked(
    org_a: Tenant, org_b: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_b.scope():
        foreign = ContactFactory()

    response = _link(api_a, ada, "contact", foreign.pk)

    assert (response.status_code, response.json()["code"]) == (404, "ContactNotFound")
    assert ("contact", foreign.pk) not in _links(org_a, ada)


def test_invalid_link_bodies_are_a_400(org_a: Tenant, ada: AdaMail, api_a: APIClient) -> None:
    bodies = [
        {"entityType": "task", "entityId": 1},
        {"entityType": "contact"},
        {"entityType": "contact", "entityId": ada.contact.pk, "source": "automatic"},
    ]

    responses = [api_a.post(_links_url(ada), body, format="json") for body in bodies]

    assert [r.status_code for r in responses] == [400, 400, 400]


def test_a_member_who_may_not_see_the_conversation_cannot_touch_its_links(
    org_a: Tenant, ada: AdaMail, erin: User
) -> None:
    with org_a.scope():
        ada.mailbox.visibility = Visibility.PRIVATE
        ada.mailbox.save(update_fields=["visibility"])
    client = token_client(org_a, erin)

    responses = [
        client.get(_links_url(ada)),
        _link(client, ada, "contact", ada.contact.pk),
        _unlink(client, ada, "contact", ada.contact.pk),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert _links(org_a, ada)[("contact", ada.contact.pk)] == LinkSource.AUTOMATIC
