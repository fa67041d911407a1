"""The pages every record type shares: list, detail, create, edit, delete."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.models import Account, Contact, Deal, Task
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TaskFactory,
)
from tests.web.conftest import Records

MODELS: dict[str, type[Any]] = {
    "contact": Contact,
    "account": Account,
    "deal": Deal,
    "task": Task,
}
KINDS = list(MODELS)


def _valid_post(kind: str, records: Records, tenant: Tenant) -> dict[str, Any]:
    return {
        "contact": {
            "first_name": "Grace",
            "last_name": "Hopper",
            "emails": "grace@navy.test\nG.Hopper@Navy.test",
            "phones": "+1 555 0100",
            "account": records.account.pk,
            "owner": tenant.member.pk,
        },
        "account": {"name": "Initech", "domains": "initech.test, www.initech.io"},
        "deal": {
            "name": "Initech pilot",
            "stage": "proposal",
            "amount": "5000",
            "currency": "eur",
            "close_date": "2030-01-31",
            "account": records.account.pk,
            "contacts": [records.contact.pk],
        },
        "task": {
            "title": "Call Grace",
            "due_at": "2030-01-01T09:30",
            "status": "open",
            "assignee": tenant.member.pk,
            "contact": records.contact.pk,
        },
    }[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_list_shows_the_organizations_records(alice: Client, records_a: Records, kind: str) -> None:
    response = alice.get(reverse(f"{kind}_list"))

    assert response.status_code == 200
    assert str(records_a.of(kind)) in response.content.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_detail_shows_the_record(alice: Client, records_a: Records, kind: str) -> None:
    record = records_a.of(kind)

    response = alice.get(reverse(f"{kind}_detail", args=[record.pk]))

    assert response.status_code == 200
    assert str(record) in response.content.decode()


@pytest.mark.parametrize("kind", ["contact", "account", "deal"])
def test_detail_loads_its_emails_tab(alice: Client, records_a: Records, kind: str) -> None:
    record = records_a.of(kind)

    response = alice.get(reverse(f"{kind}_detail", args=[record.pk]))

    assert f'hx-get="{reverse(f"{kind}_emails", args=[record.pk])}"' in response.content.decode()


@pytest.mark.parametrize("kind", KINDS)
def test_create_saves_and_redirects_to_the_new_record(
    alice: Client, org_a: Tenant, records_a: Records, kind: str
) -> None:
    response = alice.post(reverse(f"{kind}_create"), _valid_post(kind, records_a, org_a))

    assert response.status_code == 302
    with org_a.scope():
        created = MODELS[kind].objects.order_by("-pk").first()
    assert response["Location"] == reverse(f"{kind}_detail", args=[created.pk])
    assert created.organization_id == org_a.organization.pk


@pytest.mark.parametrize("kind", KINDS)
def test_edit_form_is_filled_and_saving_changes_the_record(
    alice: Client, org_a: Tenant, records_a: Records, kind: str
) -> None:
    record = records_a.of(kind)
    url = reverse(f"{kind}_edit", args=[record.pk])
    assert str(record) in alice.get(url).content.decode()

    response = alice.post(url, _valid_post(kind, records_a, org_a))

    assert response.status_code == 302
    with org_a.scope():
        record.refresh_from_db()
    assert str(record) in {"Grace Hopper", "Initech", "Initech pilot", "Call Grace"}


@pytest.mark.parametrize("kind", KINDS)
def test_delete_asks_first_then_deletes(
    alice: Client, org_a: Tenant, records_a: Records, kind: str
) -> None:
    record = records_a.of(kind)
    url = reverse(f"{kind}_delete", args=[record.pk])

    assert "cannot be undone" in alice.get(url).content.decode()
    response = alice.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse(f"{kind}_list")
    with org_a.scope():
        assert not MODELS[kind].objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_invalid_create_shows_errors_and_saves_nothing(
    alice: Client, org_a: Tenant, kind: str
) -> None:
    response = alice.post(reverse(f"{kind}_create"), {"title": "", "name": ""})

    assert response.status_code == 200
    assert (
        'class="error"' in response.content.decode() or "form-errors" in response.content.decode()
    )
    with org_a.scope():
        assert not MODELS[kind].objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_members_may_manage_records_too(bob: Client, records_a: Records, kind: str) -> None:
    record = records_a.of(kind)

    assert bob.get(reverse(f"{kind}_edit", args=[record.pk])).status_code == 200
    assert bob.post(reverse(f"{kind}_delete", args=[record.pk])).status_code == 302


@pytest.mark.parametrize("kind", KINDS)
def test_pages_need_a_signed_in_user(client: Client, records_a: Records, kind: str) -> None:
    for url in (
        reverse(f"{kind}_list"),
        reverse(f"{kind}_create"),
        reverse(f"{kind}_detail", args=[records_a.of(kind).pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("kind", KINDS)
def test_htmx_search_returns_only_the_results_table(
    alice: Client, records_a: Records, kind: str
) -> None:
    response = alice.get(
        reverse(f"{kind}_list"),
        {"q": "zzz-no-match"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="results",
    )

    body = response.content.decode()
    assert "<html" not in body
    assert "list-state" in body
    assert f"No {kind}s match" in body
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("kind", KINDS)
def test_pagination_takes_page_and_limit(
    alice: Client, org_a: Tenant, records_a: Records, kind: str
) -> None:
    _make(kind, org_a, 4)

    first = alice.get(reverse(f"{kind}_list"), {"limit": 2})
    last = alice.get(reverse(f"{kind}_list"), {"limit": 2, "page": 3})

    assert first.context["page_obj"].paginator.num_pages == 3
    assert len(first.context["page_obj"].object_list) == 2
    assert len(last.context["page_obj"].object_list) == 1
    assert alice.get(reverse(f"{kind}_list"), {"limit": 5000}).context["params"].limit == 100


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_sort_falls_back_to_the_default(
    alice: Client, records_a: Records, kind: str
) -> None:
    response = alice.get(reverse(f"{kind}_list"), {"sort": "organization__name"})

    assert response.status_code == 200
    assert response.context["params"].sort == response.context["resource"].default_sort


def _make(kind: str, tenant: Tenant, count: int) -> None:
    """``count`` more records of ``kind``, each with the relations its list row shows."""
    with tenant.scope():
        for _ in range(count):
            account = AccountFactory(owner=tenant.owner)
            AccountDomainFactory(account=account)
            contact = ContactFactory(account=account, owner=tenant.member)
            ContactEmailFactory(contact=contact)
            ContactEmailFactory(contact=contact, is_primary=False)
            if kind == "deal":
                deal = DealFactory(account=account, owner=tenant.owner)
                deal.contacts.add(contact, through_defaults={"organization": tenant.organization})
            if kind == "task":
                TaskFactory(contact=contact, account=account, assignee=tenant.owner)


@pytest.mark.parametrize("kind", KINDS)
def test_list_queries_do_not_grow_with_rows(
    alice: Client, org_a: Tenant, records_a: Records, kind: str
) -> None:
    url = reverse(f"{kind}_list")
    _make(kind, org_a, 2)
    alice.get(url)  # the first request also stores the organization in the session
    with CaptureQueriesContext(connection) as few:
        alice.get(url)
    _make(kind, org_a, 10)
    with CaptureQueriesContext(connection) as many:
        alice.get(url)

    assert len(many) == len(few)
