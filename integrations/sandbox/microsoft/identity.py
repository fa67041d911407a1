"""Microsoft identity platform v2: OpenID discovery, keys, instance discovery, token endpoint.

Served at the server root because MSAL takes the tenant from the authority's first path segment
(``https://127.0.0.1:P/{tenant}``). ``{tenant}`` is a tenant GUID, a verified domain, ``common``
or ``organizations``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus, urlparse

from integrations.sandbox.http import Request, Response, router
from integrations.sandbox.microsoft import identity_authorize  # noqa: F401 - registers routes
from integrations.sandbox.microsoft.records import Grant
from integrations.sandbox.microsoft.scopes import UnknownScope, split_scopes
from integrations.sandbox.microsoft.state import MicrosoftState, state_of
from integrations.sandbox.microsoft.tokens import (
    AUTH_CODE_SECONDS,
    REFRESH_TOKEN_INACTIVE_DAYS,
    aad_error,
    issue_tokens,
)

TENANT = r"(?P<tenant>(?!google/|graph/|_sandbox/)[A-Za-z0-9.\-]+)"
MULTI_TENANT = ("common", "organizations")


def tenant_segment_or_error(request: Request, state: MicrosoftState) -> tuple[str, Response | None]:
    """(tenant id or multi-tenant keyword, None) or ('', the invalid_tenant error)."""
    segment = request.params["tenant"]
    if segment.lower() in MULTI_TENANT:
        return segment.lower(), None
    tenant = state.resolve_tenant(segment)
    if tenant is None:
        return "", aad_error(
            request.base_url,
            state.now(),
            400,
            "invalid_tenant",
            90002,
            f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and "
            "are signing into the correct cloud. Check with your subscription administrator, this "
            "may happen if there are no active subscriptions for the tenant.",
        )
    return tenant.tenant_id, None


@router.route(
    "GET",
    rf"/{TENANT}/v2\.0/\.well-known/openid-configuration",
    name="identity.openidConfiguration",
    provider="microsoft",
)
def openid_configuration(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        tenant, error = tenant_segment_or_error(request, state)
    if error:
        return error
    base = request.base_url
    root = f"{base}/{tenant}"
    return Response.json(
        {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            # Multi-tenant authorities publish the issuer as a template the tid fills in.
            "issuer": f"{base}/{'{tenantid}' if tenant in MULTI_TENANT else tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{base}/graph/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "cloud_instance_name",
                "cloud_instance_host_name",
                "cloud_graph_host_name",
                "msgraph_host",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "acr",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "at_hash",
                "c_hash",
                "email",
            ],
            "kerberos_endpoint": f"{root}/kerberos",
            "tenant_region_scope": None if tenant in MULTI_TENANT else "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": urlparse(base).netloc,
            "rbac_url": "https://pas.windows.net",
        }
    )


@router.route(
    "GET", rf"/{TENANT}/discovery(?:/v2\.0)?/keys", name="identity.keys", provider="microsoft"
)
def keys(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        tenant, error = tenant_segment_or_error(request, state)
        if error:
            return error
        issuer = f"{request.base_url}/{'{tenantid}' if tenant in MULTI_TENANT else tenant}/v2.0"
        return Response.json({"keys": [state.signing_key.jwk(issuer)]})


@router.route(
    "GET", r"/common/discovery/instance", name="identity.instanceDiscovery", provider="microsoft"
)
def instance_discovery(request: Request) -> Response:
    """What MSAL asks before trusting an unfamiliar authority host (unless told not to)."""
    endpoint = request.arg("authorization_endpoint") or ""
    parsed = urlparse(endpoint)
    base = request.base_url
    host = urlparse(base).netloc
    with request.sandbox.lock:
        state = state_of(request)
        # MSAL names the instance by host name alone (no port), so compare host names.
        if parsed.scheme != "https" or parsed.hostname != urlparse(base).hostname:
            return aad_error(
                base, state.now(), 400, "invalid_instance", 50049, "Unknown or invalid instance."
            )
        tenant = parsed.path.split("/")[1] if parsed.path.count("/") >= 2 else "common"
    return Response.json(
        {
            "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": request.arg("api-version", "1.1"),
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }
    )


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str | None]:
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        user, _, password = decoded.partition(":")
        client_id = client_id or unquote_plus(user)
        secret = secret or unquote_plus(password)
    return client_id, secret


@router.route("POST", rf"/{TENANT}/oauth2/v2\.0/token", name="identity.token", provider="microsoft")
def token(request: Request) -> Response:
    form = request.form()
    with request.sandbox.lock:
        state = state_of(request)
        now, base = state.now(), request.base_url
        tenant, error = tenant_segment_or_error(request, state)
        if error:
            return error
        grant_type = form.get("grant_type", "")
        if not grant_type:
            return aad_error(
                base,
                now,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        client_id, secret = _client_credentials(request, form)
        app = state.apps.get(client_id)
        if app is None:
            return aad_error(
                base,
                now,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the "
                "directory. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in "
                "the "
                "tenant. You may have sent your authentication request to the wrong "
                "tenant.",
            )
        if not secret:
            return aad_error(
                base,
                now,
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )
        if not hmac.compare_digest(secret, app.client_secret):
            return aad_error(
                base,
                now,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the "
                "request is the client secret value, not the client secret ID, for a "
                f"secret added to app '{client_id}'.",
            )
        if grant_type == "authorization_code":
            return _redeem_code(request, state, form, tenant)
        if grant_type == "refresh_token":
            return _redeem_refresh_token(request, state, form, tenant)
        return aad_error(
            base,
            now,
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )


def _pkce_ok(challenge: str, method: str | None, verifier: str) -> bool:
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return hmac.compare_digest(computed, challenge)
    return hmac.compare_digest(verifier, challenge)


def _tenant_mismatch(tenant: str, grant: Grant) -> bool:
    return tenant not in ("common", "organizations") and tenant != grant.tenant_id


def _redeem_code(
    request: Request, state: MicrosoftState, form: dict[str, str], tenant: str
) -> Response:
    now, base = state.now(), request.base_url
    code_value = form.get("code", "")
    if not code_value:
        return aad_error(
            base,
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
        )
    code = state.codes.get(code_value)
    if code is None or code.client_id != form.get("client_id", code.client_id):
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid.",
        )
    grant = state.grants[code.grant_id]
    if code.redeemed:
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new "
            "valid code or use an existing refresh token.",
        )
    if now - code.issued_at > timedelta(seconds=AUTH_CODE_SECONDS):
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to "
            "inactivity. Send a new interactive authorization request for this user "
            "and resource.",
        )
    if form.get("redirect_uri", "") != code.redirect_uri:
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            500112,
            f"The reply address '{form.get('redirect_uri', '')}' does not match the "
            f"reply address '{code.redirect_uri}' provided when requesting "
            "Authorization code.",
        )
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        if not verifier or not _pkce_ok(code.code_challenge, code.code_challenge_method, verifier):
            return aad_error(
                base,
                now,
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the "
                "authorization request.",
            )
    if _tenant_mismatch(tenant, grant):
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        )
    code.redeemed = True
    if grant.revoked_at is not None:
        return _revoked(base, now, grant)
    graph, oidc = split_scopes(" ".join(code.scopes))
    body = issue_tokens(
        state,
        base_url=base,
        grant=grant,
        graph_scopes=graph,
        oidc_scopes=oidc,
        nonce=code.nonce,
        want_client_info=form.get("client_info") == "1",
    )
    request.log_user = state.users[grant.oid].upn  # type: ignore[attr-defined]
    return Response.json(
        body, headers=[("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")]
    )


def _revoked(base: str, now: Any, grant: Grant) -> Response:
    issued = grant.issued_at.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    valid_from = grant.revoked_at.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")  # type: ignore[union-attr]
    return aad_error(
        base,
        now,
        400,
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token "
        "is needed. The user might have changed or reset their password. The grant "
        f"was issued on '{issued}' and the TokensValidFrom date (before which tokens "
        f"are not valid) for this user is '{valid_from}'.",
    )


def _redeem_refresh_token(
    request: Request, state: MicrosoftState, form: dict[str, str], tenant: str
) -> Response:
    now, base = state.now(), request.base_url
    value = form.get("refresh_token", "")
    if not value:
        return aad_error(
            base,
            now,
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'refresh_token'.",
        )
    record = state.refresh_tokens.get(value)
    if record is None:
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    grant = state.grants[record.grant_id]
    if grant.client_id != form.get("client_id", grant.client_id):
        return aad_error(
            base, now, 400, "invalid_grant", 70000, "Provided grant is invalid or malformed."
        )
    if grant.revoked_at is not None:
        return _revoked(base, now, grant)
    if now - record.last_used_at > timedelta(days=REFRESH_TOKEN_INACTIVE_DAYS):
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            700082,
            "The refresh token has expired due to inactivity. The token was issued "
            f"on {record.issued_at.isoformat()} and was inactive for "
            f"{REFRESH_TOKEN_INACTIVE_DAYS}.00:00:00.",
        )
    if _tenant_mismatch(tenant, grant):
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            50020,
            f"User account from identity provider does not exist in tenant "
            f"'{tenant}' and cannot access the application '{grant.client_id}' in "
            "that tenant.",
        )
    try:
        graph, oidc = (
            split_scopes(form.get("scope", ""))
            if form.get("scope")
            else (split_scopes(" ".join(record.scopes)))
        )
    except UnknownScope as exc:
        return aad_error(
            base,
            now,
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The "
            f"scope {exc} is not valid.",
        )
    missing = [s for s in graph if s not in grant.scopes]
    if missing:
        app = state.apps[grant.client_id]
        return aad_error(
            base,
            now,
            400,
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application "
            f"with ID '{app.client_id}' named '{app.name}'. Send an interactive "
            "authorization request for this user and resource.",
            suberror="consent_required",
        )
    if not graph:  # An OIDC-only refresh still yields a Graph token for what was granted.
        graph = list(grant.scopes)
    record.last_used_at = now
    # The identity platform answers every refresh with a new refresh token; the old one stays
    # valid until it expires, which is why clients must store the newest.
    body = issue_tokens(
        state,
        base_url=base,
        grant=grant,
        graph_scopes=graph,
        oidc_scopes=[*oidc, *(["offline_access"] if "offline_access" not in oidc else [])],
        nonce=None,
        want_client_info=form.get("client_info") == "1",
    )
    request.log_user = state.users[grant.oid].upn  # type: ignore[attr-defined]
    return Response.json(
        body, headers=[("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")]
    )
