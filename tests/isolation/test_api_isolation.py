"""Every API route, enumerated from the OpenAPI schema, keeps organization A's data from B.

Organization A gets one of everything, each carrying the marker ``alpha-secret``. Charlie (owner
of B) then calls every operation: on routes with an id he gets a 404 in the error format, and no
list or other response ever contains the marker. A route missing from ``COVERAGE`` fails the test,
so a new endpoint cannot ship without saying how it is isolated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from crm import services
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

MARKER = "alpha-secret"

Maker = Callable[[Tenant], Any]


def _contact(tenant: Tenant) -> Any:
    contact = ContactFactory(first_name=MARKER, last_name=MARKER)
    ContactEmailFactory(contact=contact, email=f"{MARKER}@alpha.test")
    return contact.pk


def _account(tenant: Tenant) -> Any:
    account = AccountFactory(name=MARKER)
    AccountDomainFactory(account=account, domain=f"{MARKER}.test")
    return account.pk


def _deal(tenant: Tenant) -> Any:
    return DealFactory(name=MARKER).pk


def _task(tenant: Tenant) -> Any:
    return TaskFactory(title=MARKER, notes=MARKER).pk


def _token(tenant: Tenant) -> Any:
    return services.api_token_issue(user=tenant.owner, description=MARKER, scopes=["read"]).token.pk


def _connection(tenant: Tenant) -> Any:
    from integrations.connections.models import Connection, DirectoryTenant

    DirectoryTenant.objects.get_or_create(tenant_id=f"{MARKER}-tenant")
    existing = Connection.objects.filter(account_id=MARKER).first()
    if existing is not None:
        return existing.pk
    connection = Connection(
        user=tenant.owner,
        provider="microsoft",
        account_id=MARKER,
        email=f"{MARKER}@alpha.test",
        display_name=MARKER,
        directory_tenant_id=f"{MARKER}-tenant",
    )
    connection.store_tokens(access_token=MARKER, refresh_token=MARKER)
    connection.save()
    return connection.pk


@dataclass(frozen=True)
class Case:
    """How a route is isolated: ``make`` creates A's object whose id fills ``{id}``
    (then B must get 404); ``params`` fill other placeholders; ``body`` is what B sends."""

    make: Maker | None = None
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


COLLECTION = Case()
COVERAGE: dict[str, Case] = {
    "/api/v1/crm/accounts": COLLECTION,
    "/api/v1/crm/accounts/{id}": Case(_account),
    "/api/v1/crm/contacts": COLLECTION,
    "/api/v1/crm/contacts/{id}": Case(_contact),
    "/api/v1/crm/deals": COLLECTION,
    "/api/v1/crm/deals/{id}": Case(_deal),
    "/api/v1/crm/tasks": COLLECTION,
    "/api/v1/crm/tasks/{id}": Case(_task),
    "/api/v1/tokens": COLLECTION,
    "/api/v1/tokens/{id}": Case(_token),
    "/api/v1/members": COLLECTION,
    "/api/v1/integrations/oauth/providers": COLLECTION,
    "/api/v1/integrations/oauth/{provider}/authorize": Case(params={"provider": "google"}),
    "/api/v1/integrations/oauth/{provider}/callback": Case(params={"provider": "google"}),
    # B has no connection of its own: deleting "its" Microsoft connection must not find A's.
    "/api/v1/integrations/oauth/{provider}": Case(params={"provider": "microsoft"}),
    "/api/v1/integrations/connections": COLLECTION,
    "/api/v1/integrations/connections/{id}/status": Case(_connection),
    "/api/v1/integrations/connections/{id}/refresh": Case(_connection),
    "/api/v1/integrations/microsoft/connections": COLLECTION,
    "/api/v1/integrations/microsoft/connections/disconnect": Case(
        body={"tenant_id": f"{MARKER}-tenant"}
    ),
}
NOT_FOUND_WITHOUT_ID = {
    "/api/v1/integrations/oauth/{provider}",
    "/api/v1/integrations/microsoft/connections/disconnect",
}

SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "post": {"name": "beta", "first_name": "beta", "title": "beta", "description": "beta"},
    "put": {"name": "beta", "first_name": "beta", "title": "beta"},
    "patch": {"name": "beta"},
}


def schema_operations() -> list[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (path, method)
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_every_api_route_has_isolation_coverage() -> None:
    uncovered = sorted({path for path, _ in schema_operations() if path not in COVERAGE})
    assert uncovered == [], f"add these routes to COVERAGE in {__name__}: {uncovered}"


def test_another_organizations_user_gets_404_and_never_sees_the_data(
    org_a: Tenant, org_b: Tenant
) -> None:
    with org_a.scope():
        ids = {path: case.make(org_a) for path, case in COVERAGE.items() if case.make}

    charlie = APIClient()
    charlie.force_login(org_b.owner)
    for path, method in schema_operations():
        case = COVERAGE[path]
        url = path
        for name, value in {**case.params, "id": ids.get(path)}.items():
            url = url.replace("{" + name + "}", str(value))
        body = case.body if case.body is not None else SAMPLE_BODIES.get(method)
        call = getattr(charlie, method)
        response = call(url, body, format="json") if body else call(url)
        text = response.content.decode()
        assert MARKER not in text, f"{method.upper()} {url} leaked organization A's data"
        if case.make is not None or (path in NOT_FOUND_WITHOUT_ID and method != "get"):
            assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
            assert response.json()["statusCode"] == 404

    with org_a.scope():
        from crm.models import Account, ApiToken, Contact, Deal, Task

        assert Contact.objects.filter(first_name=MARKER).count() == 1
        assert Account.objects.filter(name=MARKER).count() == 1
        assert Deal.objects.filter(name=MARKER).count() == 1
        assert Task.objects.filter(title=MARKER).count() == 1
        assert ApiToken.objects.get(description=MARKER).revoked_at is None
        from integrations.connections.models import Connection

        assert Connection.objects.get(account_id=MARKER).status == "connected"
