"""Google sign-in for Gmail and Calendar through google-auth-oauthlib and google-auth."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request as GoogleAuthRequest
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749 import errors as oauth_errors

from integrations.providers.base import (
    AuthorizationRequest,
    InvalidGrant,
    ProviderError,
    ProviderProfile,
    ProviderUnavailable,
    TokenGrant,
)
from integrations.providers.http import ca_bundle, provider_session

# Google answers `email profile` with the expanded userinfo.* scopes; oauthlib would raise
# "Scope has changed" without this, exactly as against accounts.google.com.
os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")

AUTH = "https://www.googleapis.com/auth/"
IDENTITY_SCOPES = ("openid", f"{AUTH}userinfo.email", f"{AUTH}userinfo.profile")
CAPABILITY_SCOPES = {
    "email": (f"{AUTH}gmail.modify",),
    "calendar": (f"{AUTH}calendar",),
}


def _callback_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}/api/v1/integrations/oauth/google/callback"


def _expiry(seconds: Any) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=int(seconds or 3600))


class GoogleOAuth:
    name = "google"
    label = "Google"

    def is_configured(self) -> bool:
        return bool(settings.GOOGLE_CLIENT_ID and settings.GOOGLE_CLIENT_SECRET)

    def scopes_for(self, capabilities: tuple[str, ...]) -> tuple[str, ...]:
        extra = [s for c in capabilities for s in CAPABILITY_SCOPES.get(c, ())]
        return tuple(dict.fromkeys([*IDENTITY_SCOPES, *extra]))

    def _flow(self, scopes: tuple[str, ...], code_verifier: str | None = None) -> Flow:
        config = {
            "web": {
                "client_id": settings.GOOGLE_CLIENT_ID,
                "client_secret": settings.GOOGLE_CLIENT_SECRET,
                "auth_uri": settings.GOOGLE_AUTH_URI,
                "token_uri": settings.GOOGLE_TOKEN_URI,
                "redirect_uris": [_callback_url()],
            }
        }
        flow = Flow.from_client_config(
            config, scopes=list(scopes), redirect_uri=_callback_url(), code_verifier=code_verifier
        )
        return flow

    def authorization_request(
        self, *, state: str, capabilities: tuple[str, ...], login_hint: str | None
    ) -> AuthorizationRequest:
        scopes = self.scopes_for(capabilities)
        flow = self._flow(scopes)
        extra = {"login_hint": login_hint} if login_hint else {}
        url, _ = flow.authorization_url(
            state=state,
            access_type="offline",
            prompt="consent",  # always a refresh token, also when reconnecting
            include_granted_scopes="true",
            **extra,
        )
        return AuthorizationRequest(
            url=url, secret_state={"code_verifier": flow.code_verifier, "scopes": list(scopes)}
        )

    def exchange_code(
        self, *, callback_params: dict[str, str], secret_state: dict[str, Any]
    ) -> tuple[TokenGrant, ProviderProfile]:
        flow = self._flow(tuple(secret_state["scopes"]), secret_state["code_verifier"])
        try:
            # An explicit verify: REQUESTS_CA_BUNDLE would otherwise replace the session's.
            token = flow.fetch_token(code=callback_params["code"], verify=ca_bundle())
        except oauth_errors.InvalidGrantError as exc:
            raise InvalidGrant("Google refused the sign-in code; please try again.") from exc
        except oauth_errors.OAuth2Error as exc:
            raise ProviderError(f"Google refused the sign-in ({exc.error}).") from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable("Google could not be reached to finish signing in.") from exc
        grant = TokenGrant(
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            expires_at=_expiry(token.get("expires_in")),
            scopes=tuple(token.get("scope") or secret_state["scopes"]),
        )
        return grant, self.profile(grant.access_token)

    def profile(self, access_token: str) -> ProviderProfile:
        try:
            response = provider_session().get(
                settings.GOOGLE_USERINFO_URI, headers={"Authorization": f"Bearer {access_token}"}
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable("Google could not be reached to read the profile.") from exc
        if response.status_code >= 500:
            raise ProviderUnavailable("Google failed while reading the profile.")
        if response.status_code != 200:
            raise ProviderError("Google did not return the account's profile.")
        data = response.json()
        return ProviderProfile(
            account_id=str(data["sub"]),
            email=str(data.get("email", "")).lower(),
            display_name=str(data.get("name") or data.get("email", "")),
        )

    def refresh(
        self, *, refresh_token: str, scopes: tuple[str, ...], tenant: str | None = None
    ) -> TokenGrant:
        credentials = Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=settings.GOOGLE_TOKEN_URI,
            client_id=settings.GOOGLE_CLIENT_ID,
            client_secret=settings.GOOGLE_CLIENT_SECRET,
        )
        try:
            credentials.refresh(GoogleAuthRequest(session=provider_session()))
        except RefreshError as exc:
            if "invalid_grant" in str(exc):
                raise InvalidGrant("Google revoked or expired this connection.") from exc
            if getattr(exc, "retryable", False):
                raise ProviderUnavailable("Google could not refresh the token right now.") from exc
            raise ProviderError("Google refused to refresh the token.") from exc
        except TransportError as exc:
            raise ProviderUnavailable("Google could not be reached to refresh the token.") from exc
        expiry = credentials.expiry.replace(tzinfo=UTC) if credentials.expiry else _expiry(3600)
        granted = tuple(credentials.granted_scopes or scopes)
        return TokenGrant(
            access_token=str(credentials.token),
            refresh_token=credentials.refresh_token
            if credentials.refresh_token != refresh_token
            else None,
            expires_at=expiry,
            scopes=granted,
        )

    def revoke(self, *, token: str, account_id: str) -> None:
        try:
            response = provider_session().post(
                settings.GOOGLE_REVOKE_URI,
                data={"token": token},
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except requests.RequestException as exc:
            raise ProviderUnavailable("Google could not be reached to revoke access.") from exc
        # 400 invalid_token: already revoked, which is what we wanted.
        if response.status_code >= 500:
            raise ProviderUnavailable("Google failed while revoking access.")
