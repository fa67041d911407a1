"""Shared fixtures: two organizations with their people, API clients, and tenant scopes.

Alice owns organization A, Bob is a member of A, Charlie owns organization B and has no access
to A: every isolation test acts as Charlie on A's objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from pytest_django import Settings
from rest_framework.test import APIClient

from config.celery import app as celery_app
from crm import services
from crm.models import Membership, Organization, Role, User
from crm.tenancy import tenant_context
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytest_plugins = ["integrations.sandbox.testing"]

# Tasks queued by tests stay in this process's memory: they must never reach a real broker (or
# the demo's filesystem queue). Tests that need a worker publish to their own Redis database.
celery_app.conf.broker_url = "memory://"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Settings) -> None:
    """Factories hash a password for every user; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Tenant:
    organization: Organization
    owner: User
    member: User

    def scope(self) -> AbstractContextManager[None]:
        return tenant_context(self.organization)


def _tenant(name: str, slug: str, owner_email: str, member_email: str) -> Tenant:
    organization = OrganizationFactory(name=name, slug=slug)
    owner = UserFactory(email=owner_email)
    member = UserFactory(email=member_email)
    MembershipFactory(user=owner, organization=organization, role=Role.OWNER)
    MembershipFactory(user=member, organization=organization, role=Role.MEMBER)
    return Tenant(organization=organization, owner=owner, member=member)


@pytest.fixture
def org_a(db: None) -> Tenant:
    return _tenant("Alpha Sales", "alpha", "alice@alpha.test", "bob@alpha.test")


@pytest.fixture
def org_b(db: None) -> Tenant:
    return _tenant("Beta Sales", "beta", "charlie@beta.test", "dana@beta.test")


@pytest.fixture
def in_org_a(org_a: Tenant) -> Iterator[Tenant]:
    with tenant_context(org_a.organization):
        yield org_a


def token_client(
    tenant: Tenant, user: User | None = None, scopes: tuple[str, ...] = ("api",)
) -> APIClient:
    user = user or tenant.owner
    with tenant_context(tenant.organization):
        issued = services.api_token_issue(user=user, description="test", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


@pytest.fixture
def api_a(org_a: Tenant) -> APIClient:
    """Alice's bearer-token client in organization A."""
    return token_client(org_a)


@pytest.fixture
def api_b(org_b: Tenant) -> APIClient:
    """Charlie's bearer-token client in organization B (no access to A)."""
    return token_client(org_b)


def membership(user: User, organization: Organization) -> Membership:
    return Membership.objects.get(user=user, organization=organization)
