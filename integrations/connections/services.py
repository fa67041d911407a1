"""Writes: start a sign-in, finish it, refresh tokens, disconnect."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from crm.models import Organization, User
from crm.tenancy import all_tenants, tenant_context
from integrations.connections.models import (
    Connection,
    ConnectionStatus,
    DirectoryTenant,
    OAuthPurpose,
    OAuthState,
)
from integrations.connections.signals import connection_connected
from integrations.providers.base import (
    InvalidGrant,
    OAuthProvider,
    ProviderError,
    ProviderProfile,
    ProviderUnavailable,
    TokenGrant,
)
from integrations.providers.microsoft.oauth import admin_consent_url
from integrations.providers.registry import provider_get

logger = logging.getLogger(__name__)

STATE_SALT = "liaison.oauth.state"
STATE_MAX_AGE_SECONDS = 600


class ConnectionFlowError(Exception):
    """A sign-in that cannot go on; ``message`` is for the person, ``code`` for the API."""

    def __init__(self, message: str, *, code: str, admin_consent_url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.admin_consent_url = admin_consent_url


class ConnectionUnusable(Exception):
    """The connection needs the user (reconnect) before Liaison may call the provider again."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(f"connection {connection.pk} is {connection.status}")
        self.connection = connection


def _provider(name: str) -> OAuthProvider:
    provider = provider_get(name)
    if provider is None:
        raise ConnectionFlowError(f"Unknown provider '{name}'.", code="UnknownProvider")
    if not provider.is_configured():
        raise ConnectionFlowError(
            f"{provider.label} is not configured on this server.", code="ProviderNotConfigured"
        )
    return provider


def _new_state(*, user: User, organization: Organization, provider: str) -> tuple[str, str]:
    nonce = secrets.token_urlsafe(24)
    payload = {"n": nonce, "u": user.pk, "o": organization.pk, "p": provider}
    return nonce, signing.dumps(payload, salt=STATE_SALT, compress=True)


def oauth_authorize_start(
    *,
    user: User,
    organization: Organization,
    provider_name: str,
    capabilities: tuple[str, ...],
    login_hint: str | None = None,
) -> str:
    """The provider's consent URL for this user; the state is stored, single-use, 10 minutes."""
    provider = _provider(provider_name)
    nonce, state = _new_state(user=user, organization=organization, provider=provider_name)
    try:
        request = provider.authorization_request(
            state=state, capabilities=capabilities, login_hint=login_hint
        )
    except ProviderError as exc:
        raise ConnectionFlowError(exc.user_message, code=exc.code) from exc
    pending = OAuthState(
        nonce=nonce,
        user=user,
        provider=provider_name,
        purpose=OAuthPurpose.CONNECT,
        capabilities=list(capabilities),
    )
    pending.secret = request.secret_state
    pending.save()
    return request.url


def admin_consent_start(*, user: User, organization: Organization, tenant: str) -> str:
    """Microsoft's tenant-wide consent page, for a directory administrator."""
    _provider("microsoft")
    nonce, state = _new_state(user=user, organization=organization, provider="microsoft")
    OAuthState.objects.create(
        nonce=nonce, user=user, provider="microsoft", purpose=OAuthPurpose.ADMIN_CONSENT
    )
    return admin_consent_url(tenant=tenant or settings.MICROSOFT_TENANT, state=state)


@dataclass(frozen=True)
class CallbackResult:
    organization: Organization
    connection: Connection | None
    directory_tenant: DirectoryTenant | None


def _claim_state(*, provider_name: str, state: str, session_user: Any) -> OAuthState:
    """The pending sign-in behind ``state``, used up now; any doubt is an error."""
    try:
        payload = signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.SignatureExpired as exc:
        raise ConnectionFlowError(
            "This sign-in took too long and expired. Please connect again.", code="StateExpired"
        ) from exc
    except signing.BadSignature as exc:
        raise ConnectionFlowError(
            "This sign-in link is not valid. Please connect again.", code="InvalidState"
        ) from exc
    with all_tenants():
        pending = (
            OAuthState.objects.unscoped()
            .select_for_update()
            .select_related("organization", "user")
            .filter(nonce=payload.get("n"))
            .first()
        )
        if (
            pending is None
            or pending.user_id != payload.get("u")
            or pending.organization_id != payload.get("o")
            or pending.provider != payload.get("p")
            or pending.provider != provider_name
        ):
            raise ConnectionFlowError(
                "This sign-in link is not valid. Please connect again.", code="InvalidState"
            )
        if pending.used_at is not None:
            raise ConnectionFlowError(
                "This sign-in was already completed. Please connect again if needed.",
                code="StateReplayed",
            )
        if pending.expires_at <= timezone.now():
            raise ConnectionFlowError(
                "This sign-in took too long and expired. Please connect again.",
                code="StateExpired",
            )
        if getattr(session_user, "is_authenticated", False) and session_user.pk != pending.user_id:
            raise ConnectionFlowError(
                "This sign-in was started by another Liaison user. Sign in as them, or connect "
                "again yourself.",
                code="WrongUser",
            )
        OAuthState.objects.unscoped().filter(pk=pending.pk).update(used_at=timezone.now())
    return pending


def _provider_denial(provider_name: str, params: dict[str, str], tenant: str) -> None:
    error = params.get("error")
    if not error:
        return
    description = params.get("error_description", "")
    if error == "access_denied":
        raise ConnectionFlowError(
            "Access was not granted, so nothing was connected.", code="AccessDenied"
        )
    if provider_name == "microsoft" and (
        error == "consent_required" or "AADSTS65001" in description or "AADSTS90094" in description
    ):
        state = params.get("state", "")
        raise ConnectionFlowError(
            "Your Microsoft 365 administrator must approve Liaison for your organization first.",
            code="AdminConsentRequired",
            admin_consent_url=admin_consent_url(tenant=tenant or "organizations", state=state),
        )
    raise ConnectionFlowError(f"The provider refused the sign-in ({error}).", code="ProviderError")


def oauth_callback(
    *, provider_name: str, params: dict[str, str], session_user: Any
) -> CallbackResult:
    """Finish a sign-in: validate the state, exchange the code, create or update the connection."""
    provider = _provider(provider_name)
    pending = _claim_state(
        provider_name=provider_name, state=params.get("state", ""), session_user=session_user
    )
    organization = pending.organization
    with tenant_context(organization):
        if pending.purpose == OAuthPurpose.ADMIN_CONSENT:
            _provider_denial(provider_name, params, params.get("tenant", ""))
            return CallbackResult(organization, None, _record_admin_consent(pending, params))
        _provider_denial(provider_name, params, params.get("tenant", ""))
        if not params.get("code"):
            raise ConnectionFlowError("The provider sent no sign-in code.", code="MissingCode")
        try:
            grant, profile = provider.exchange_code(
                callback_params=params, secret_state=pending.secret
            )
        except ProviderError as exc:
            raise ConnectionFlowError(exc.user_message, code=exc.code) from exc
        connection = connection_upsert(
            user=pending.user,
            provider_name=provider_name,
            capabilities=tuple(pending.capabilities),
            grant=grant,
            profile=profile,
        )
        tenant = None
        if profile.directory_tenant_id:
            tenant, _ = DirectoryTenant.objects.get_or_create(tenant_id=profile.directory_tenant_id)
        return CallbackResult(organization, connection, tenant)


def _record_admin_consent(pending: OAuthState, params: dict[str, str]) -> DirectoryTenant:
    if params.get("admin_consent", "").lower() != "true" or not params.get("tenant"):
        raise ConnectionFlowError("Microsoft did not confirm the consent.", code="ProviderError")
    tenant, _ = DirectoryTenant.objects.get_or_create(tenant_id=params["tenant"])
    tenant.admin_consent_at = timezone.now()
    tenant.admin_consented_by = pending.user
    tenant.save(update_fields=["admin_consent_at", "admin_consented_by", "updated_at"])
    return tenant


def connection_upsert(
    *,
    user: User,
    provider_name: str,
    capabilities: tuple[str, ...],
    grant: TokenGrant,
    profile: ProviderProfile,
) -> Connection:
    """Reconnecting the same provider account updates its connection; it never duplicates."""
    connection = (
        Connection.objects.select_for_update()
        .filter(provider=provider_name, account_id=profile.account_id)
        .first()
    ) or Connection(provider=provider_name, account_id=profile.account_id)
    connection.user = user
    connection.email = profile.email
    connection.display_name = profile.display_name
    connection.directory_tenant_id = profile.directory_tenant_id
    connection.capabilities = sorted(set(connection.capabilities or []) | set(capabilities))
    _apply_grant(connection, grant)
    connection.status = ConnectionStatus.CONNECTED
    connection.connected_at = timezone.now()
    connection.save()
    connection_connected.send(sender=Connection, connection=connection)
    return connection


def _apply_grant(connection: Connection, grant: TokenGrant) -> None:
    connection.store_tokens(access_token=grant.access_token, refresh_token=grant.refresh_token)
    connection.token_expires_at = grant.expires_at
    connection.granted_scopes = sorted(set(grant.scopes))
    connection.last_refreshed_at = timezone.now()
    connection.token_version += 1
    connection.last_error = ""
    connection.last_error_at = None


def _refresh_due(connection: Connection) -> bool:
    margin = timedelta(seconds=settings.TOKEN_REFRESH_MARGIN_SECONDS)
    return (
        connection.token_expires_at is None
        or connection.token_expires_at <= timezone.now() + margin
    )


def connection_refresh(*, connection: Connection, force: bool = False) -> Connection:
    """Refresh the access token, safely against a concurrent refresh of the same connection.

    The row is locked and re-read: a refresh that happened meanwhile (a newer token_version) is
    kept, never overwritten with an older token. ``invalid_grant`` marks the connection expired;
    network errors and 5xx leave the status alone and are raised for the caller to retry.
    """
    provider = _provider(connection.provider)
    seen_version = connection.token_version
    failure: ProviderError | None = None
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        if locked.status != ConnectionStatus.CONNECTED:
            raise ConnectionUnusable(locked)
        if locked.token_version != seen_version and not _refresh_due(locked):
            return locked
        if not force and not _refresh_due(locked):
            return locked
        try:
            grant = provider.refresh(
                refresh_token=locked.refresh_token,
                scopes=tuple(locked.granted_scopes),
                tenant=locked.directory_tenant_id or None,
            )
        except InvalidGrant as exc:
            failure = exc
            locked.status = ConnectionStatus.EXPIRED
            locked.access_token_encrypted = ""
            _record_error(locked, exc.user_message)
            locked.save()
        except ProviderError as exc:
            failure = exc
            _record_error(locked, exc.user_message)
            locked.save(update_fields=["last_error", "last_error_at", "updated_at"])
        else:
            _apply_grant(locked, grant)
            locked.save()
    if isinstance(failure, InvalidGrant):
        raise ConnectionUnusable(locked) from failure
    if failure is not None:
        raise failure
    return locked


def _record_error(connection: Connection, message: str) -> None:
    connection.last_error = message
    connection.last_error_at = timezone.now()


def connection_access_token(*, connection: Connection) -> str:
    """A current access token, refreshed first when it is about to expire."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise ConnectionUnusable(connection)
    if _refresh_due(connection):
        connection = connection_refresh(connection=connection)
    return connection.access_token


def connection_mark_expired(*, connection: Connection, message: str) -> None:
    """A provider call answered with a dead grant: stop calling until the user reconnects."""
    Connection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.EXPIRED,
        access_token_encrypted="",
        last_error=message,
        last_error_at=timezone.now(),
        updated_at=timezone.now(),
    )


def connection_disconnect(*, connection: Connection, purge: bool) -> str:
    """Revoke the grant at the provider, then forget the tokens (and, with purge, the data).

    Returns a note for the person when the provider could not be told.
    """
    note = ""
    provider = provider_get(connection.provider)
    if provider is not None and connection.status == ConnectionStatus.CONNECTED:
        try:
            # Google revokes the whole grant from its refresh token; Graph needs a live token.
            token = (
                connection_access_token(connection=connection)
                if connection.provider == "microsoft"
                else connection.refresh_token or connection.access_token
            )
            provider.revoke(token=token, account_id=connection.account_id)
        except ProviderError as exc:
            logger.warning("revoking connection %s failed: %s", connection.pk, exc.code)
            note = exc.user_message
        except ConnectionUnusable:
            note = "The provider had already ended this connection."
    if purge:
        connection.delete()
        return note
    connection.forget_tokens()
    connection.status = ConnectionStatus.REVOKED
    connection.save()
    return note


def directory_tenant_disconnect(*, tenant_id: str) -> list[int]:
    """Disconnect every connection of a Microsoft directory tenant and forget its consent."""
    connections = list(
        Connection.objects.filter(provider="microsoft", directory_tenant_id=tenant_id)
    )
    for connection in connections:
        connection_disconnect(connection=connection, purge=False)
    DirectoryTenant.objects.filter(tenant_id=tenant_id).delete()
    return [c.pk for c in connections]


__all__ = [
    "CallbackResult",
    "Connection",
    "ConnectionFlowError",
    "ConnectionUnusable",
    "InvalidGrant",
    "ProviderUnavailable",
    "admin_consent_start",
    "connection_access_token",
    "connection_disconnect",
    "connection_mark_expired",
    "connection_refresh",
    "oauth_authorize_start",
    "oauth_callback",
]
