"""What every provider's OAuth side returns, and the errors it raises. Frozen data, no dicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

CAPABILITIES = ("email", "calendar")


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    expires_at: datetime
    scopes: tuple[str, ...]
    refresh_token: str | None = None  # None: the provider kept the old one
    id_token_claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderProfile:
    account_id: str  # Google `sub`, Microsoft `oid`: stable across e-mail changes
    email: str
    display_name: str
    directory_tenant_id: str = ""  # Microsoft `tid`


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    # Provider-specific continuation kept server-side until the callback (PKCE verifier, nonce).
    secret_state: dict[str, Any]


class ProviderError(Exception):
    """A provider call failed; ``user_message`` is safe to show (never contains a token)."""

    def __init__(self, user_message: str, *, code: str = "ProviderError") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.code = code


class InvalidGrant(ProviderError):
    """The grant is gone (revoked, expired refresh token, password change): reconnect needed."""

    def __init__(
        self, user_message: str = "The provider no longer accepts this connection."
    ) -> None:
        super().__init__(user_message, code="invalid_grant")


class ProviderUnavailable(ProviderError):
    """Network error, timeout or 5xx: temporary, retry later, leave the status alone."""

    def __init__(self, user_message: str = "The provider could not be reached.") -> None:
        super().__init__(user_message, code="ProviderUnavailable")


class ConsentRequired(ProviderError):
    """A tenant administrator must grant consent first."""

    def __init__(self, user_message: str, *, admin_consent_url: str) -> None:
        super().__init__(user_message, code="consent_required")
        self.admin_consent_url = admin_consent_url


class OAuthProvider(Protocol):
    name: str
    label: str

    def is_configured(self) -> bool: ...

    def scopes_for(self, capabilities: tuple[str, ...]) -> tuple[str, ...]: ...

    def authorization_request(
        self, *, state: str, capabilities: tuple[str, ...], login_hint: str | None
    ) -> AuthorizationRequest: ...

    def exchange_code(
        self, *, callback_params: dict[str, str], secret_state: dict[str, Any]
    ) -> tuple[TokenGrant, ProviderProfile]: ...

    def refresh(
        self, *, refresh_token: str, scopes: tuple[str, ...], tenant: str | None = None
    ) -> TokenGrant: ...

    def revoke(self, *, token: str, account_id: str) -> None: ...
