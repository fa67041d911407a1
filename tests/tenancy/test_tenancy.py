"""The first invariant: tenants never see each other, in the ORM, in raw SQL, in tasks."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from crm.models import Account, Contact, Organization
from crm.tasks import tenant_task
from crm.tenancy import (
    NoOrganizationContext,
    TenantOwned,
    all_tenants,
    current_organization_or_none,
    tenant_context,
)
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-level security exists on PostgreSQL only"
)


def tenant_models() -> list[type[TenantOwned]]:
    return [m for m in apps.get_models() if issubclass(m, TenantOwned)]


def _fill(tenant: Tenant) -> None:
    with tenant.scope():
        account = AccountFactory()
        AccountDomainFactory(account=account)
        contact = ContactFactory(account=account)
        ContactEmailFactory(contact=contact)
        deal = DealFactory(account=account)
        deal.dealcontact_set.create(contact=contact, organization=tenant.organization)
        TaskFactory(contact=contact, deal=deal)


def test_a_tenant_query_without_organization_context_raises(org_a: Tenant) -> None:
    _fill(org_a)
    for model in tenant_models():
        with pytest.raises(NoOrganizationContext):
            list(model.objects.all())
    with pytest.raises(NoOrganizationContext):
        Contact.objects.count()


def test_a_queryset_built_without_context_does_not_run_later_inside_one(org_a: Tenant) -> None:
    queryset = Contact.objects.all()
    with org_a.scope(), pytest.raises(NoOrganizationContext):
        list(queryset)


def test_queries_see_only_the_current_organization(org_a: Tenant, org_b: Tenant) -> None:
    _fill(org_a)
    _fill(org_b)
    with org_a.scope():
        assert {c.organization_id for c in Contact.objects.all()} == {org_a.organization.pk}
    with org_b.scope():
        assert Contact.objects.count() == 1


def test_the_context_is_reset_after_the_block_even_on_error(org_a: Tenant) -> None:
    with pytest.raises(ValueError), tenant_context(org_a.organization):
        assert current_organization_or_none() == org_a.organization
        raise ValueError("boom")
    assert current_organization_or_none() is None


def test_contexts_nest_and_restore(org_a: Tenant, org_b: Tenant) -> None:
    with org_a.scope():
        with org_b.scope():
            assert current_organization_or_none() == org_b.organization
        assert current_organization_or_none() == org_a.organization


def test_unscoped_inside_all_tenants_is_the_explicit_cross_tenant_escape(
    org_a: Tenant, org_b: Tenant
) -> None:
    _fill(org_a)
    _fill(org_b)
    with all_tenants():
        assert Account.objects.unscoped().count() == 2


def test_records_cannot_point_at_another_organizations_records(
    org_a: Tenant, org_b: Tenant
) -> None:
    from django.core.exceptions import ValidationError

    with org_b.scope():
        foreign = AccountFactory()
    with org_a.scope():
        contact = ContactFactory()
        contact.account_id = foreign.pk
        with pytest.raises(ValidationError):
            contact.full_clean()


@tenant_task()
def _organization_seen_by_task(organization: Organization) -> tuple[int, int]:
    seen = current_organization_or_none()
    assert seen is not None
    return seen.pk, Contact.objects.count()


def test_a_task_runs_inside_the_organization_it_was_given_and_leaves_no_context(
    org_a: Tenant, org_b: Tenant
) -> None:
    _fill(org_a)
    result = _organization_seen_by_task.apply(args=[org_a.organization.pk]).get()
    assert result == (org_a.organization.pk, 1)
    assert current_organization_or_none() is None
    assert _organization_seen_by_task.apply(args=[org_b.organization.pk]).get() == (
        org_b.organization.pk,
        0,
    )


@postgres_only
def test_the_application_role_cannot_bypass_row_level_security(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)


@postgres_only
def test_every_tenant_table_has_forced_row_level_security(db: None) -> None:
    with connection.cursor() as cursor:
        for model in tenant_models():
            cursor.execute(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = %s",
                [model._meta.db_table],
            )
            assert cursor.fetchone() == (True, True), model._meta.db_table


@postgres_only
def test_raw_sql_without_organization_setting_returns_zero_rows(org_a: Tenant) -> None:
    _fill(org_a)
    with connection.cursor() as cursor:
        for model in tenant_models():
            table = model._meta.db_table
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            assert cursor.fetchone()[0] == 0, table
        cursor.execute(
            "SELECT set_config('app.organization_id', %s, true)", [str(org_a.organization.pk)]
        )
        cursor.execute('SELECT count(*) FROM "crm_contact"')
        assert cursor.fetchone()[0] == 1
        cursor.execute("SELECT set_config('app.organization_id', '', true)")


@postgres_only
def test_raw_sql_cannot_write_into_another_organization(org_a: Tenant, org_b: Tenant) -> None:
    from django.db import DatabaseError, transaction

    with (
        org_a.scope(),
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO crm_account (organization_id, name, website, industry,"
            " created_at, updated_at) VALUES (%s, 'x', '', '', now(), now())",
            [org_b.organization.pk],
        )


@postgres_only
def test_every_tenant_table_reads_the_organization_once_per_statement(db: None) -> None:
    """The policies compare each row with a value computed once (an InitPlan), not with a
    ``current_setting`` call per row."""
    with connection.cursor() as cursor:
        for model in tenant_models():
            cursor.execute(f'EXPLAIN (VERBOSE, COSTS OFF) SELECT 1 FROM "{model._meta.db_table}"')
            plan = [line for (line,) in cursor.fetchall()]
            row_filters = [line for line in plan if line.strip().startswith("Filter:")]
            assert row_filters, model._meta.db_table
            assert not any("current_setting" in line for line in row_filters), plan
