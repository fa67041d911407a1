"""Every API route, enumerated from the OpenAPI schema, keeps organization A's data from B.

Organization A gets one of everything, each carrying the marker ``alpha-secret``. Charlie (owner
of B) then calls every operation: on routes with an id he gets a 404 in the error format, and no
list or other response ever contains the marker. A route missing from ``COVERAGE`` fails the test,
so a new endpoint cannot ship without saying how it is isolated.
"""

from __future__ import annotations

from collections.abc import Callable
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


# path template → how to make A's object whose id fills the path (None: a collection route).
COVERAGE: dict[str, Maker | None] = {
    "/api/v1/crm/accounts": None,
    "/api/v1/crm/accounts/{id}": _account,
    "/api/v1/crm/contacts": None,
    "/api/v1/crm/contacts/{id}": _contact,
    "/api/v1/crm/deals": None,
    "/api/v1/crm/deals/{id}": _deal,
    "/api/v1/crm/tasks": None,
    "/api/v1/crm/tasks/{id}": _task,
    "/api/v1/tokens": None,
    "/api/v1/tokens/{id}": _token,
    "/api/v1/members": None,
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
        ids = {path: make(org_a) for path, make in COVERAGE.items() if make is not None}

    charlie = APIClient()
    charlie.force_login(org_b.owner)
    for path, method in schema_operations():
        maker = COVERAGE[path]
        url = path.replace("{id}", str(ids[path])) if maker else path
        body = SAMPLE_BODIES.get(method)
        response = (
            getattr(charlie, method)(url, body, format="json")
            if body
            else getattr(charlie, method)(url)
        )
        text = response.content.decode()
        assert MARKER not in text, f"{method.upper()} {url} leaked organization A's data"
        if maker is not None:
            assert response.status_code == 404, f"{method.upper()} {url} → {response.status_code}"
            assert response.json()["statusCode"] == 404

    with org_a.scope():
        from crm.models import Account, ApiToken, Contact, Deal, Task

        assert Contact.objects.filter(first_name=MARKER).count() == 1
        assert Account.objects.filter(name=MARKER).count() == 1
        assert Deal.objects.filter(name=MARKER).count() == 1
        assert Task.objects.filter(title=MARKER).count() == 1
        assert ApiToken.objects.get(description=MARKER).revoked_at is None
