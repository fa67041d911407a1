"""Isolation cases of the core API routes. Other apps add theirs in ``cases_<app>.py`` modules
beside this one, each exporting ``CASES``; test_api_isolation.py merges them all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
    # Routes without an id that still address A's data through params or body: B gets 404 on
    # every method but GET.
    not_found_without_id: bool = False


COLLECTION = Case()
CASES: dict[str, Case] = {
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
    "/api/v1/integrations/oauth/{provider}": Case(
        params={"provider": "microsoft"}, not_found_without_id=True
    ),
    "/api/v1/integrations/connections": COLLECTION,
    "/api/v1/integrations/connections/{id}/status": Case(_connection),
    "/api/v1/integrations/connections/{id}/refresh": Case(_connection),
    "/api/v1/integrations/microsoft/connections": COLLECTION,
    "/api/v1/integrations/microsoft/connections/disconnect": Case(
        body={"tenant_id": f"{MARKER}-tenant"}, not_found_without_id=True
    ),
}
SAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "post": {"name": "beta", "first_name": "beta", "title": "beta", "description": "beta"},
    "put": {"name": "beta", "first_name": "beta", "title": "beta"},
    "patch": {"name": "beta"},
}
