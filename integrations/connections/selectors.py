"""Reads: connections as the person sees them (status, the button to press, what is missing)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from crm.models import Membership, User
from integrations.connections.models import Connection, ConnectionStatus, DirectoryTenant
from integrations.providers.microsoft.oauth import short_scope
from integrations.providers.registry import provider_get


@dataclass(frozen=True)
class ConnectionState:
    status: str
    action: str  # none | connect | authorize | reconnect
    action_label: str
    required_scopes: tuple[str, ...]
    missing_scopes: tuple[str, ...]


def _normalize(scope: str) -> str:
    return short_scope(scope).lower()


def connection_required_scopes(connection: Connection) -> tuple[str, ...]:
    provider = provider_get(connection.provider)
    if provider is None:
        return ()
    return tuple(short_scope(s) for s in provider.scopes_for(tuple(connection.capabilities)))


def connection_state(connection: Connection) -> ConnectionState:
    required = connection_required_scopes(connection)
    granted = {_normalize(s) for s in connection.granted_scopes}
    missing = tuple(s for s in required if _normalize(s) not in granted and s != "openid")
    status = connection.status
    if status == ConnectionStatus.REVOKED:
        action, label = "connect", "Connect again"
    elif status == ConnectionStatus.PENDING_AUTH:
        action, label = "authorize", "Finish signing in"
    elif status in (ConnectionStatus.EXPIRED, ConnectionStatus.ERROR):
        action, label = "reconnect", "Reconnect"
    elif missing:
        action, label = "reconnect", "Grant missing permissions"
    else:
        action, label = "none", ""
    return ConnectionState(status, action, label, required, missing)


def connections_visible_to(
    *, user: User, membership: Membership, everyone: bool
) -> QuerySet[Connection]:
    """The user's own connections; with ``everyone`` (admins only), the organization's."""
    queryset = Connection.objects.select_related("user").order_by("provider", "email", "pk")
    if everyone and membership.is_admin:
        return queryset
    return queryset.filter(user=user)


def connection_for_user(
    *, user: User, membership: Membership, connection_id: int
) -> Connection | None:
    """A connection the user may act on: their own, or any of the organization's for admins."""
    queryset = connections_visible_to(user=user, membership=membership, everyone=True)
    return queryset.filter(pk=connection_id).first()


@dataclass(frozen=True)
class DirectoryTenantState:
    tenant_id: str
    status: str  # connected | expired | pending_auth | not_connected
    action: str
    action_label: str
    connection: Connection | None
    scopes: tuple[str, ...]


def directory_tenant_states() -> list[DirectoryTenantState]:
    """Seed 003's getOutlookConnectionStatus: one entry per Microsoft directory tenant."""
    connections = list(
        Connection.objects.select_related("user")
        .filter(provider="microsoft")
        .exclude(status=ConnectionStatus.REVOKED)
        .order_by("-updated_at")
    )
    tenant_ids = list(DirectoryTenant.objects.values_list("tenant_id", flat=True))
    tenant_ids += [c.directory_tenant_id for c in connections if c.directory_tenant_id]
    states = []
    for tenant_id in dict.fromkeys(tenant_ids):
        mine = [c for c in connections if c.directory_tenant_id == tenant_id]
        live = next((c for c in mine if c.status == ConnectionStatus.CONNECTED), None)
        if live is not None:
            states.append(
                DirectoryTenantState(
                    tenant_id, "connected", "none", "", live, tuple(live.granted_scopes)
                )
            )
        elif mine:
            states.append(
                DirectoryTenantState(tenant_id, "expired", "reconnect", "Reconnect", mine[0], ())
            )
        else:
            states.append(
                DirectoryTenantState(
                    tenant_id, "pending_auth", "authorize", "Sign in to finish", None, ()
                )
            )
    return states
