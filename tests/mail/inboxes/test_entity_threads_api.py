"""``GET /email/threads/:entityType/:entityId`` (seed 002): the threads linked to a contact,
account or deal, newest first, in pages, as the mailbox visibility policy lets the caller see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from crm.models import User
from integrations.mail.matching import match_messages
from integrations.mail.models import Mailbox, Visibility
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory
from tests.mail.factories import BASE_TIME, mail_message
from tests.mail.inboxes.conftest import BASE, SNIPPET, SUBJECT, AdaMail

pytestmark = pytest.mark.django_db


def _threads(client: APIClient, kind: str, pk: object, **params: Any) -> Any:
    return client.get(f"{BASE}/threads/{kind}/{pk}", params)


def _policy(org_a: Tenant, mailbox: Mailbox, visibility: str) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(visibility=visibility)


@pytest.mark.parametrize("kind", ["contact", "account", "deal"])
def test_a_records_threads_come_with_subject_snippet_people_and_count(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, kind: str
) -> None:
    record = {"contact": ada.contact, "account": ada.account, "deal": ada.deal}[kind]

    body = _threads(api_a, kind, record.pk).json()

    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    [row] = body["results"]
    assert row["id"] == ada.thread.pk
    assert (row["visibility"], row["subject"], row["snippet"]) == ("full", SUBJECT, SNIPPET)
    assert row["messageCount"] == 1
    assert row["lastMessageAt"] is not None
    assert [(p["address"], p["contactId"]) for p in row["participants"]] == [
        (ada.mailbox.address, None),
        ("ada@acme.test", ada.contact.pk),
    ]


def test_threads_come_newest_first_in_pages_until_an_empty_one(
    org_a: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_a.scope():
        later = [
            mail_message(
                ada.mailbox,
                sender="ada@acme.test",
                to=[ada.mailbox.address],
                subject=f"Later {n}",
                sent_at=BASE_TIME + timedelta(days=n),
            )
            for n in (1, 2)
        ]
        match_messages(mailbox=ada.mailbox, messages=later)

    pages = [_threads(api_a, "contact", ada.contact.pk, limit=2, page=n).json() for n in (1, 2, 3)]

    assert [[r["subject"] for r in p["results"]] for p in pages] == [
        ["Later 2", "Later 1"],
        [SUBJECT],
        [],
    ]
    assert {(p["total"], p["pages"]) for p in pages} == {(3, 2)}
    assert [p["page"] for p in pages] == [1, 2, 3]


@pytest.mark.parametrize(
    ("policy", "subject", "snippet"),
    [
        (Visibility.FULL, SUBJECT, SNIPPET),
        (Visibility.SUBJECT, SUBJECT, None),
        (Visibility.METADATA, None, None),
    ],
)
def test_other_members_see_threads_at_the_mailboxs_visibility_level(
    org_a: Tenant,
    ada: AdaMail,
    erin: User,
    policy: str,
    subject: str | None,
    snippet: str | None,
) -> None:
    _policy(org_a, ada.mailbox, policy)

    [row] = _threads(token_client(org_a, erin), "contact", ada.contact.pk).json()["results"]
    [owners] = _threads(token_client(org_a, org_a.member), "contact", ada.contact.pk).json()[
        "results"
    ]

    assert (row["visibility"], row["subject"], row["snippet"]) == (policy, subject, snippet)
    assert (owners["subject"], owners["snippet"]) == (SUBJECT, SNIPPET)


def test_a_private_mailboxs_threads_show_only_to_its_owner_and_admins(
    org_a: Tenant, ada: AdaMail, api_a: APIClient, erin: User
) -> None:
    _policy(org_a, ada.mailbox, Visibility.PRIVATE)

    erins = _threads(token_client(org_a, erin), "contact", ada.contact.pk).json()
    alices = _threads(api_a, "contact", ada.contact.pk).json()

    assert (erins["total"], erins["results"]) == (0, [])
    assert [r["subject"] for r in alices["results"]] == [SUBJECT]


def test_unknown_or_foreign_records_and_unknown_types_are_a_404(
    org_a: Tenant, org_b: Tenant, ada: AdaMail, api_a: APIClient
) -> None:
    with org_b.scope():
        foreign = ContactFactory()

    responses = [
        _threads(api_a, "contact", 999999),
        _threads(api_a, "contact", foreign.pk),
        _threads(api_a, "contact", "ada"),
        _threads(api_a, "task", ada.contact.pk),
        _threads(api_a, "person", ada.contact.pk),
    ]

    assert [r.status_code for r in responses] == [404] * 5
    assert [r.json()["code"] for r in responses[:3]] == ["ContactNotFound"] * 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"page": 0}, {"page": "two"}])
def test_bad_paging_is_a_400(org_a: Tenant, ada: AdaMail, api_a: APIClient, params: dict) -> None:
    response = _threads(api_a, "contact", ada.contact.pk, **params)

    assert response.status_code == 400
    assert set(params) <= set(response.json()["details"])
