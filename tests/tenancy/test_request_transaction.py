"""A request that opens its own transaction sets the organization once, as ``SET LOCAL``, and
leaves nothing behind: the next request on the same connection starts as nobody."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from crm.tenancy import tenant_atomic
from tests.conftest import Tenant, token_client
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = "/api/v1/crm/contacts"


def _settings() -> tuple[str | None, str | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('app.organization_id', true),"
            " current_setting('app.all_tenants', true)"
        )
        return cursor.fetchone()


def test_consecutive_token_requests_each_see_only_their_organization(
    org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        mulder = ContactFactory(first_name="Fox", last_name="Mulder")
    with org_b.scope():
        skinner = ContactFactory(first_name="Walter", last_name="Skinner")
    alice, charlie = token_client(org_a), token_client(org_b)
    for _ in range(2):
        for client, own, other in ((alice, mulder, skinner), (charlie, skinner, mulder)):
            ids = {row["id"] for row in client.get(CONTACTS).json()["results"]}
            assert own.pk in ids and other.pk not in ids
            assert client.get(f"{CONTACTS}/{other.pk}").status_code == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="settings exist on PostgreSQL only")
def test_a_request_leaves_no_organization_or_all_tenants_setting_behind(org_a: Tenant) -> None:
    alice = token_client(org_a)
    assert alice.get(CONTACTS).status_code == 200
    assert alice.get("/api/v1/integrations/email/inbox").status_code == 200
    organization, everything = _settings()
    assert organization in ("", None) and everything in ("", None)


def _organization_setting() -> str | None:
    return _settings()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="settings exist on PostgreSQL only")
def test_a_task_transaction_sets_its_organization_once_and_leaves_it_with_the_commit(
    org_a: Tenant,
) -> None:
    with CaptureQueriesContext(connection) as queries, tenant_atomic(org_a.organization):
        assert _organization_setting() == str(org_a.organization.pk)
    assert sum("set_config" in query["sql"] for query in queries) == 1
    assert _organization_setting() in ("", None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="settings exist on PostgreSQL only")
def test_a_nested_task_transaction_gives_the_outer_organization_back(
    org_a: Tenant, org_b: Tenant
) -> None:
    with transaction.atomic(), org_a.scope():
        with tenant_atomic(org_b.organization):
            assert _organization_setting() == str(org_b.organization.pk)
        assert _organization_setting() == str(org_a.organization.pk)
    assert _organization_setting() in ("", None)
