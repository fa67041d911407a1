"""Web tenancy: the signed-in user's current organization for the whole request."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from crm.models import Membership
from crm.tenancy import all_tenants, tenant_context, transaction_tenant

SESSION_ORGANIZATION_KEY = "organization_id"
ADMIN_PREFIX = "/admin/"


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership chosen in the session, else the user's first one (then remembered)."""
    memberships = Membership.objects.select_related("organization").filter(
        user_id=int(request.user.pk or 0)
    )
    chosen = request.session.get(SESSION_ORGANIZATION_KEY)
    membership = memberships.filter(organization_id=chosen).first() if chosen else None
    if membership is None:
        membership = memberships.order_by("created_at", "pk").first()
        if membership is not None:
            request.session[SESSION_ORGANIZATION_KEY] = membership.organization_id
    return membership


class TenantMiddleware:
    """Runs each request in one transaction, as the organization chosen in the session.

    The transaction is where PostgreSQL's ``SET LOCAL app.organization_id`` lives; an unhandled
    error (500) rolls it back, and the API's error handler rolls back the errors it renders.
    API requests with a bearer token get their organization later, in the API base view.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with ExitStack() as scope:
            # When the request's transaction is its own, the organization setting ends with it:
            # set once, never restored (the API view's, set later, neither).
            owned = not transaction.get_connection().in_atomic_block
            request.tenant_transaction = owned  # type: ignore[attr-defined]
            scope.enter_context(transaction.atomic())
            membership = current_membership(request) if request.user.is_authenticated else None
            request.membership = membership  # type: ignore[attr-defined]
            request.organization = membership.organization if membership else None  # type: ignore[attr-defined]
            tenant = transaction_tenant if owned else tenant_context
            scope.enter_context(tenant(request.organization))  # type: ignore[attr-defined]
            if request.user.is_superuser and request.path.startswith(ADMIN_PREFIX):
                scope.enter_context(all_tenants())
            response = self.get_response(request)
            if response.status_code == 500:  # unhandled; handled errors decided already
                transaction.set_rollback(True)
        return response
