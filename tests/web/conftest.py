"""Web UI fixtures: signed-in clients for the people of tests/conftest.py, and A's records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from crm.models import Account, Contact, Deal, Task, User
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TaskFactory,
)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice(org_a: Tenant) -> Client:
    """Owner of organization A."""
    return signed_in(org_a.owner)


@pytest.fixture
def bob(org_a: Tenant) -> Client:
    """Plain member of organization A."""
    return signed_in(org_a.member)


@pytest.fixture
def charlie(org_b: Tenant) -> Client:
    """Owner of organization B, with no access to A."""
    return signed_in(org_b.owner)


@dataclass
class Records:
    account: Account
    contact: Contact
    deal: Deal
    task: Task

    def of(self, name: str) -> Account | Contact | Deal | Task:
        return getattr(self, name)


@pytest.fixture
def records_a(org_a: Tenant) -> Records:
    """One linked record of each type in organization A."""
    with org_a.scope():
        account = AccountFactory(name="Acme Rockets", owner=org_a.owner)
        AccountDomainFactory(account=account, domain="acme.test")
        contact = ContactFactory(
            first_name="Ada", last_name="Lovelace", account=account, owner=org_a.owner
        )
        ContactEmailFactory(contact=contact, email="ada@acme.test")
        deal = DealFactory(name="Acme rollout", account=account, owner=org_a.owner)
        deal.contacts.add(contact, through_defaults={"organization": org_a.organization})
        task = TaskFactory(
            title="Send the proposal",
            contact=contact,
            account=account,
            deal=deal,
            assignee=org_a.owner,
        )
    return Records(account=account, contact=contact, deal=deal, task=task)
