"""CRM CRUD over the API: accounts, contacts, deals, tasks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from crm.models import Contact, ContactEmail
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
)

pytestmark = pytest.mark.django_db


def test_contact_create_normalizes_addresses_and_picks_a_primary(
    api_a: APIClient, org_a: Tenant
) -> None:
    response = api_a.post(
        "/api/v1/crm/contacts",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "emails": ["  Ada@Analytical.TEST ", "ada@home.test"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["primary_email"] == "ada@analytical.test"
    assert body["emails"] == [
        {"email": "ada@analytical.test", "is_primary": True},
        {"email": "ada@home.test", "is_primary": False},
    ]
    assert body["full_name"] == "Ada Lovelace"


def test_an_address_belongs_to_one_contact_per_organization(api_a: APIClient) -> None:
    first = api_a.post(
        "/api/v1/crm/contacts", {"first_name": "A", "emails": ["x@y.test"]}, format="json"
    )
    assert first.status_code == 201
    second = api_a.post(
        "/api/v1/crm/contacts", {"first_name": "B", "emails": ["X@y.test"]}, format="json"
    )
    assert second.status_code == 400
    assert second.json()["code"] == "InvalidRequest"
    assert "emails" in second.json()["details"]


def test_the_same_address_may_exist_in_two_organizations(
    api_a: APIClient, api_b: APIClient
) -> None:
    for client in (api_a, api_b):
        response = client.post(
            "/api/v1/crm/contacts", {"first_name": "Z", "emails": ["z@z.test"]}, format="json"
        )
        assert response.status_code == 201


def test_account_domains_are_normalized_and_unique(api_a: APIClient) -> None:
    response = api_a.post(
        "/api/v1/crm/accounts",
        {"name": "Acme", "domains": ["https://www.ACME.test/about", "acme.test"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["domains"] == ["acme.test"]
    clash = api_a.post(
        "/api/v1/crm/accounts", {"name": "Acme 2", "domains": ["acme.test"]}, format="json"
    )
    assert clash.status_code == 400
    assert "domains" in clash.json()["details"]


def test_contact_update_replaces_addresses(api_a: APIClient) -> None:
    created = api_a.post(
        "/api/v1/crm/contacts", {"first_name": "A", "emails": ["a@a.test"]}, format="json"
    ).json()
    response = api_a.patch(
        f"/api/v1/crm/contacts/{created['id']}",
        {"emails": [{"email": "b@a.test", "is_primary": True}, "c@a.test"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert [e["email"] for e in response.json()["emails"]] == ["b@a.test", "c@a.test"]


def test_deal_links_contacts_of_the_same_organization(api_a: APIClient, in_org_a: Tenant) -> None:
    contact = ContactFactory()
    account = AccountFactory()
    response = api_a.post(
        "/api/v1/crm/deals",
        {
            "name": "Renewal",
            "account": account.pk,
            "contacts": [contact.pk],
            "stage": "proposal",
            "amount": "1500.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["contacts"] == [contact.pk]
    assert response.json()["stage"] == "proposal"


def test_task_done_records_completion_time(api_a: APIClient) -> None:
    task = api_a.post("/api/v1/crm/tasks", {"title": "Call back"}, format="json").json()
    assert task["status"] == "open" and task["completed_at"] is None
    done = api_a.patch(f"/api/v1/crm/tasks/{task['id']}", {"status": "done"}, format="json").json()
    assert done["completed_at"] is not None
    reopened = api_a.patch(
        f"/api/v1/crm/tasks/{task['id']}", {"status": "open"}, format="json"
    ).json()
    assert reopened["completed_at"] is None


def test_contacts_filter_by_email_and_search(api_a: APIClient, in_org_a: Tenant) -> None:
    ContactEmailFactory(email="find@me.test", contact=ContactFactory(first_name="Findable"))
    ContactEmailFactory(email="other@me.test")
    by_email = api_a.get("/api/v1/crm/contacts", {"email": "FIND@me.test"}).json()
    assert by_email["total"] == 1
    by_search = api_a.get("/api/v1/crm/contacts", {"search": "findable"}).json()
    assert [c["first_name"] for c in by_search["results"]] == ["Findable"]


def test_accounts_filter_by_domain(api_a: APIClient, in_org_a: Tenant) -> None:
    AccountDomainFactory(domain="wanted.test", account=AccountFactory(name="Wanted"))
    AccountDomainFactory(domain="other.test")
    body = api_a.get("/api/v1/crm/accounts", {"domain": "wanted.test"}).json()
    assert [a["name"] for a in body["results"]] == ["Wanted"]


def test_delete_removes_the_contact_and_its_addresses(api_a: APIClient, in_org_a: Tenant) -> None:
    email = ContactEmailFactory()
    response = api_a.delete(f"/api/v1/crm/contacts/{email.contact_id}")
    assert response.status_code == 204
    assert not Contact.objects.filter(pk=email.contact_id).exists()
    assert not ContactEmail.objects.filter(pk=email.pk).exists()


@pytest.mark.parametrize("path", ["contacts", "accounts", "deals", "tasks"])
def test_list_runs_a_constant_number_of_queries_whatever_the_page_size(
    api_a: APIClient, in_org_a: Tenant, path: str
) -> None:
    from tests.factories import DealFactory, TaskFactory

    for i in range(30):
        account = AccountFactory()
        AccountDomainFactory(account=account)
        contact = ContactFactory(account=account)
        ContactEmailFactory(contact=contact)
        deal = DealFactory(account=account)
        deal.dealcontact_set.create(contact=contact, organization=in_org_a.organization)
        TaskFactory(contact=contact, account=account, deal=deal, assignee=in_org_a.owner)

    def queries(limit: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api_a.get(f"/api/v1/crm/{path}", {"limit": limit})
            assert response.status_code == 200
            assert len(response.json()["results"]) == limit
        return len(ctx.captured_queries)

    queries(1)  # the first request records the token's last use
    assert queries(2) == queries(25)
