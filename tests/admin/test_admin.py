"""The admin: every model registered; superusers cross tenants, staff stay in their own."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from crm.models import Membership, Role
from crm.tenancy import all_tenants
from tests.conftest import Tenant
from tests.factories import AccountFactory, ContactEmailFactory, ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_every_liaison_model_is_registered() -> None:
    ours = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"crm", "connections", "mail"} and not m._meta.auto_created
    ]
    # Edited inline on their parent, or derived data the sync and the inbox keep up to date.
    not_on_their_own = {
        "AccountDomain",
        "ContactEmail",
        "DealContact",
        "MailFolder",
        "SharedInboxAssignee",
        "Participant",
        "Attachment",
        "MailboxThread",
        "FolderCount",
    }
    missing = [
        m.__name__
        for m in ours
        if m not in admin.site._registry and m.__name__ not in not_on_their_own
    ]
    assert missing == []


@pytest.fixture
def superuser_client(db: None) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_a_superuser_sees_every_organizations_records(
    superuser_client: Client, org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        AccountFactory(name="Alpha Account")
    with org_b.scope():
        AccountFactory(name="Beta Account")
    page = superuser_client.get("/admin/crm/account/").content.decode()
    assert "Alpha Account" in page and "Beta Account" in page


def test_every_changelist_and_change_page_renders_for_a_superuser(
    superuser_client: Client, org_a: Tenant
) -> None:
    with org_a.scope():
        contact = ContactFactory()
        ContactEmailFactory(contact=contact)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert superuser_client.get(url).status_code == 200, url
        assert superuser_client.get(url + "?q=x").status_code == 200, url
    response = superuser_client.get(f"/admin/crm/contact/{contact.pk}/change/")
    assert response.status_code == 200
    with all_tenants():
        address = contact.emails.model.objects.unscoped().get(contact=contact).email
    assert address in response.content.decode()


def test_staff_without_superuser_see_only_their_organization(org_a: Tenant, org_b: Tenant) -> None:
    staff = UserFactory(is_staff=True)
    Membership.objects.create(user=staff, organization=org_a.organization, role=Role.ADMIN)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_account", "change_account"])
    )
    with org_a.scope():
        AccountFactory(name="Alpha Account")
    with org_b.scope():
        beta = AccountFactory(name="Beta Account")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/crm/account/").content.decode()
    assert "Alpha Account" in page and "Beta Account" not in page
    assert client.get(f"/admin/crm/account/{beta.pk}/change/").status_code in (302, 404)
