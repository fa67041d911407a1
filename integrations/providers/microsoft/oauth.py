"""Microsoft 365 sign-in through MSAL's auth-code flow with PKCE, per directory tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlparse

import msal
import requests
from django.conf import settings

from integrations.providers.base import (
    AuthorizationRequest,
    ConsentRequired,
    InvalidGrant,
    ProviderError,
    ProviderProfile,
    ProviderUnavailable,
    TokenGrant,
)
from integrations.providers.http import provider_session

GRAPH = "https://graph.microsoft.com/"
IDENTITY_SCOPES = (f"{GRAPH}User.Read",)
CAPABILITY_SCOPES = {
    "email": (
        f"{GRAPH}Mail.ReadWrite",
        f"{GRAPH}Mail.Send",
        f"{GRAPH}Mail.ReadWrite.Shared",
        f"{GRAPH}Mail.Send.Shared",
    ),
    "calendar": (f"{GRAPH}Calendars.ReadWrite",),
}
# AADSTS codes that mean the grant is gone for good (reconnect), not a passing failure.
GRANT_GONE_CODES = {50173, 70000, 70008, 50076, 50078, 65001, 700082, 50132, 50057}


def _callback_url() -> str:
    return f"{settings.SITE_URL.rstrip('/')}/api/v1/integrations/oauth/microsoft/callback"


def short_scope(scope: str) -> str:
    return scope.removeprefix(GRAPH)


def _application(tenant: str | None = None) -> msal.ConfidentialClientApplication:
    login = settings.MICROSOFT_LOGIN_URL.rstrip("/")
    custom_host = urlparse(login).hostname != "login.microsoftonline.com"
    return msal.ConfidentialClientApplication(
        settings.MICROSOFT_CLIENT_ID,
        client_credential=settings.MICROSOFT_CLIENT_SECRET,
        authority=f"{login}/{tenant or settings.MICROSOFT_TENANT}",
        http_client=provider_session(),
        # Instance discovery asks login.microsoftonline.com about the authority's host; a
        # sovereign cloud or the sandbox is configured explicitly instead.
        instance_discovery=not custom_host,
        validate_authority=not custom_host,
    )


def _raise_for(result: dict[str, Any], doing: str) -> None:
    if "error" not in result:
        return
    error = result.get("error")
    codes = set(result.get("error_codes") or [])
    if error == "invalid_grant" or codes & GRANT_GONE_CODES:
        raise InvalidGrant(f"Microsoft no longer accepts this connection ({doing}).")
    if error in {"temporarily_unavailable", "server_error"}:
        raise ProviderUnavailable(f"Microsoft is unavailable ({doing}).")
    raise ProviderError(f"Microsoft refused the request ({doing}: {error}).")


def _grant(result: dict[str, Any], fallback_scopes: tuple[str, ...]) -> TokenGrant:
    scope = result.get("scope")
    scopes = tuple(scope.split()) if isinstance(scope, str) else tuple(scope or fallback_scopes)
    return TokenGrant(
        access_token=result["access_token"],
        refresh_token=result.get("refresh_token"),
        expires_at=datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in", 3600))),
        scopes=tuple(short_scope(s) for s in scopes),
        id_token_claims=dict(result.get("id_token_claims") or {}),
    )


def admin_consent_url(*, tenant: str, state: str) -> str:
    scopes = " ".join(s for c in CAPABILITY_SCOPES.values() for s in c)
    query = urlencode(
        {
            "client_id": settings.MICROSOFT_CLIENT_ID,
            "redirect_uri": _callback_url(),
            "state": state,
            "scope": f"{scopes} {' '.join(IDENTITY_SCOPES)}",
        }
    )
    return f"{settings.MICROSOFT_LOGIN_URL.rstrip('/')}/{tenant}/v2.0/adminconsent?{query}"


class MicrosoftOAuth:
    name = "microsoft"
    label = "Microsoft 365"

    def is_configured(self) -> bool:
        return bool(settings.MICROSOFT_CLIENT_ID and settings.MICROSOFT_CLIENT_SECRET)

    def scopes_for(self, capabilities: tuple[str, ...]) -> tuple[str, ...]:
        extra = [s for c in capabilities for s in CAPABILITY_SCOPES.get(c, ())]
        return tuple(dict.fromkeys([*IDENTITY_SCOPES, *extra]))

    def authorization_request(
        self, *, state: str, capabilities: tuple[str, ...], login_hint: str | None
    ) -> AuthorizationRequest:
        scopes = self.scopes_for(capabilities)
        try:
            # form_post keeps the code out of URLs, logs and Referer headers (RFC 9700 4.3.1).
            flow = _application().initiate_auth_code_flow(
                list(scopes),
                redirect_uri=_callback_url(),
                state=state,
                login_hint=login_hint,
                response_mode="form_post",
            )
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
            raise ProviderUnavailable(
                "Microsoft could not be reached to start signing in."
            ) from exc
        return AuthorizationRequest(url=flow["auth_uri"], secret_state={"flow": flow})

    def exchange_code(
        self, *, callback_params: dict[str, str], secret_state: dict[str, Any]
    ) -> tuple[TokenGrant, ProviderProfile]:
        flow = secret_state["flow"]
        try:
            result = _application().acquire_token_by_auth_code_flow(flow, dict(callback_params))
        except ValueError as exc:  # MSAL's state/nonce checks
            raise ProviderError("Microsoft's answer did not match this sign-in.") from exc
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
            raise ProviderUnavailable(
                "Microsoft could not be reached to finish signing in."
            ) from exc
        _raise_for(result, "sign-in")
        grant = _grant(result, tuple(flow.get("scope", ())))
        claims = grant.id_token_claims
        profile = ProviderProfile(
            account_id=str(claims.get("oid") or claims.get("sub")),
            email=str(claims.get("email") or claims.get("preferred_username", "")).lower(),
            display_name=str(claims.get("name") or claims.get("preferred_username", "")),
            directory_tenant_id=str(claims.get("tid", "")),
        )
        return grant, profile

    def refresh(
        self, *, refresh_token: str, scopes: tuple[str, ...], tenant: str | None = None
    ) -> TokenGrant:
        wanted = [s if s.startswith("https://") else f"{GRAPH}{s}" for s in scopes]
        wanted = [s for s in wanted if short_scope(s) not in {"openid", "profile", "email"}]
        try:
            result = _application(tenant).acquire_token_by_refresh_token(refresh_token, wanted)
        except (requests.RequestException, msal.exceptions.MsalServiceError) as exc:
            raise ProviderUnavailable(
                "Microsoft could not be reached to refresh the token."
            ) from exc
        _raise_for(result, "token refresh")
        return _grant(result, scopes)

    def revoke(self, *, token: str, account_id: str) -> None:
        """Remove Liaison's delegated permission grant for this user at Microsoft.

        The identity platform has no token-revocation endpoint; the grant itself is what
        Graph's oauth2PermissionGrants expose.
        """
        session = provider_session()
        session.headers["Authorization"] = f"Bearer {token}"
        graph = settings.MICROSOFT_GRAPH_URL.rstrip("/")
        try:
            listing = session.get(f"{graph}/me/oauth2PermissionGrants")
            if listing.status_code in (401, 403):
                raise ConsentRequired(
                    "Microsoft did not let Liaison remove its own access; remove Liaison at "
                    "https://myapps.microsoft.com.",
                    admin_consent_url="https://myapps.microsoft.com",
                )
            if listing.status_code >= 500:
                raise ProviderUnavailable("Microsoft failed while revoking access.")
            for grant in listing.json().get("value", []):
                if grant.get("clientId") in {settings.MICROSOFT_CLIENT_ID, None}:
                    session.delete(f"{graph}/oauth2PermissionGrants/{grant['id']}")
        except requests.RequestException as exc:
            raise ProviderUnavailable("Microsoft could not be reached to revoke access.") from exc
