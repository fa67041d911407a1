"""Google's token side: ``/google/token``, ``/google/revoke``, ``/google/oauth2/v3/userinfo``,
``/google/oauth2/v3/tokeninfo``, ``/google/oauth2/v3/certs`` and the OpenID discovery document.

Token endpoint, as Google answers it: client authentication by HTTP Basic or form fields
(401 ``invalid_client`` for an unknown client or a wrong secret); ``authorization_code`` needs
the same ``redirect_uri`` as the authorize request and, when a PKCE challenge was sent, the
matching ``code_verifier``; a code works once and for ten minutes (``invalid_grant`` after);
``refresh_token`` answers ``invalid_grant`` "Token has been expired or revoked." once the grant
is revoked. Success is ``{access_token, expires_in: 3599, scope, token_type: "Bearer",
id_token?, refresh_token?}``; errors are ``{"error", "error_description"}`` with 400.
The id_token is an RS256 JWT (``iss`` = ``<base>/google``, the issuer in the discovery document).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import unquote_plus

from integrations.sandbox.google.auth import bearer_token
from integrations.sandbox.google.oauth_scopes import (
    EMAIL_SCOPE,
    PROFILE_SCOPE,
    parse_scopes,
    wants_id_token,
)
from integrations.sandbox.google.oauth_store import ACCESS_TOKEN_SECONDS, AccessToken, OAuthClient
from integrations.sandbox.google.state import GoogleState, GoogleUser
from integrations.sandbox.http import Abort, Request, Response, router

_NO_STORE = [
    ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
    ("Pragma", "no-cache"),
]


def oauth_error(error: str, description: str, status: int = 400) -> Abort:
    return Abort(
        Response.json(
            {"error": error, "error_description": description}, status=status, headers=_NO_STORE
        )
    )


def _form(request: Request) -> dict[str, str]:
    if "json" in request.headers.get("content-type", "").lower():
        try:
            data = request.json() or {}
        except ValueError:
            raise oauth_error("invalid_request", "Invalid JSON payload received.") from None
        return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return request.form()


def authenticate_client(state: GoogleState, request: Request, form: dict[str, str]) -> OAuthClient:
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise oauth_error("invalid_client", "Unauthorized", 401) from None
        client_id, _, secret = decoded.partition(":")
    client = state.oauth.clients.get(client_id) or state.oauth.clients.get(unquote_plus(client_id))
    if client is None:
        raise oauth_error("invalid_client", "The OAuth client was not found.", 401)
    if secret is None or secret == "":
        raise oauth_error("invalid_request", "client_secret is missing.")
    # RFC 6749 says Basic credentials are form-encoded first; requests' HTTPBasicAuth does not.
    if not (
        hmac.compare_digest(secret, client.client_secret)
        or hmac.compare_digest(unquote_plus(secret), client.client_secret)
    ):
        raise oauth_error("invalid_client", "Unauthorized", 401)
    return client


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def id_token(
    state: GoogleState,
    user: GoogleUser,
    token: AccessToken,
    base_url: str,
    now: int,
    nonce: str | None,
) -> str:
    claims: dict[str, Any] = {
        "iss": f"{base_url}/google",
        "azp": token.client_id,
        "aud": token.client_id,
        "sub": user.sub,
        "at_hash": _b64url(hashlib.sha256(token.token.encode()).digest()[:16]),
    }
    if EMAIL_SCOPE in token.scopes:
        claims.update(email=user.email, email_verified=True)
    if nonce:
        claims["nonce"] = nonce
    if PROFILE_SCOPE in token.scopes:
        given, _, family = user.name.partition(" ")
        claims.update(name=user.name, given_name=given, family_name=family or given)
    claims.update(iat=now, exp=now + 3600)
    return state.signing_key.sign(claims)


def token_response(
    state: GoogleState,
    user: GoogleUser,
    client_id: str,
    scopes: list[str],
    base_url: str,
    now: float,
    *,
    refresh: bool,
    nonce: str | None = None,
) -> dict[str, Any]:
    access = state.oauth.issue_access_token(user.email, client_id, scopes, now)
    body: dict[str, Any] = {"access_token": access.token, "expires_in": ACCESS_TOKEN_SECONDS}
    if refresh:
        body["refresh_token"] = state.oauth.issue_refresh_token(user.email, client_id, scopes).token
    body["scope"] = " ".join(scopes)
    body["token_type"] = "Bearer"
    if wants_id_token(scopes):
        body["id_token"] = id_token(state, user, access, base_url, int(now), nonce)
    return body


def _verify_pkce(challenge: str | None, method: str | None, verifier: str | None) -> None:
    if challenge is None:
        return
    if not verifier:
        raise oauth_error("invalid_grant", "Missing code verifier.")
    if method == "S256":
        computed = _b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    else:
        computed = verifier
    if not hmac.compare_digest(computed, challenge):
        raise oauth_error("invalid_grant", "Invalid code verifier.")


def _authorization_code(
    state: GoogleState, client: OAuthClient, form: dict[str, str], base_url: str, now: float
) -> dict[str, Any]:
    value = form.get("code")
    if not value:
        raise oauth_error("invalid_request", "Missing required parameter: code")
    code = state.oauth.codes.get(value)
    if code is None:
        raise oauth_error("invalid_grant", "Malformed auth code.")
    if code.used or code.expires_at <= now or code.client_id != client.client_id:
        raise oauth_error("invalid_grant", "Bad Request")
    if form.get("redirect_uri") != code.redirect_uri:
        raise oauth_error("redirect_uri_mismatch", "Bad Request")
    _verify_pkce(code.code_challenge, code.code_challenge_method, form.get("code_verifier"))
    code.used = True
    user = state.user(code.email)
    if user is None:
        raise oauth_error("invalid_grant", "Account has been deleted")
    return token_response(
        state,
        user,
        client.client_id,
        code.scopes,
        base_url,
        now,
        refresh=code.issue_refresh_token,
        nonce=code.nonce,
    )


def _refresh(
    state: GoogleState, client: OAuthClient, form: dict[str, str], base_url: str, now: float
) -> dict[str, Any]:
    value = form.get("refresh_token")
    if not value:
        raise oauth_error("invalid_request", "Missing required parameter: refresh_token")
    token = state.oauth.refresh_tokens.get(value)
    if token is None:
        raise oauth_error("invalid_grant", "Token has been expired or revoked.")
    if token.client_id != client.client_id:
        raise oauth_error("unauthorized_client", "Unauthorized")
    user = state.user(token.email)
    if user is None:
        raise oauth_error("invalid_grant", "Token has been expired or revoked.")
    scopes = token.scopes
    if form.get("scope"):
        wanted = parse_scopes(form["scope"])
        if not set(wanted) <= set(token.scopes):
            raise oauth_error(
                "invalid_scope",
                "Some requested scopes were not granted by the authorization server",
            )
        scopes = wanted
    return token_response(state, user, client.client_id, scopes, base_url, now, refresh=False)


@router.route("POST", r"/google/token", name="google.oauth.token", provider="google")
def token(request: Request) -> Response:
    form = _form(request)
    sandbox = request.sandbox
    with sandbox.lock:
        state: GoogleState = sandbox.google
        client = authenticate_client(state, request, form)
        now = sandbox.now().timestamp()
        state.oauth.drop_expired(now)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            body = _authorization_code(state, client, form, request.base_url, now)
        elif grant_type == "refresh_token":
            body = _refresh(state, client, form, request.base_url, now)
        else:
            raise oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
    return Response.json(body, headers=_NO_STORE)


@router.route("POST", r"/google/revoke", name="google.oauth.revoke", provider="google")
def revoke(request: Request) -> Response:
    value = request.form().get("token") or request.arg("token") or ""
    with request.sandbox.lock:
        if not request.sandbox.google.oauth.revoke_token(value):
            raise oauth_error("invalid_token", "Token expired or revoked")
    return Response.json({})


def _access_token(request: Request, value: str | None) -> tuple[GoogleUser, AccessToken] | None:
    state: GoogleState = request.sandbox.google
    token = state.oauth.live_access_token(value or "", request.sandbox.now().timestamp())
    user = state.user(token.email) if token is not None else None
    return (user, token) if user is not None and token is not None else None


@router.route("GET", r"/google/oauth2/v3/userinfo", name="google.oauth.userinfo", provider="google")
def userinfo(request: Request) -> Response:
    with request.sandbox.lock:
        found = _access_token(request, bearer_token(request))
    if found is None:
        raise Abort(
            Response.json(
                {"error": "invalid_request", "error_description": "Invalid Credentials"},
                status=401,
                headers=[("WWW-Authenticate", 'Bearer error="invalid_token"')],
            )
        )
    user, access = found
    body: dict[str, Any] = {"sub": user.sub}
    if PROFILE_SCOPE in access.scopes:
        given, _, family = user.name.partition(" ")
        body.update(name=user.name, given_name=given, family_name=family or given)
    if EMAIL_SCOPE in access.scopes:
        body.update(email=user.email, email_verified=True)
    return Response.json(body)


@router.route(
    "GET", r"/google/oauth2/v3/tokeninfo", name="google.oauth.tokeninfo", provider="google"
)
def tokeninfo(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        found = _access_token(request, request.arg("access_token"))
        now = int(sandbox.now().timestamp())
    if found is None:
        raise Abort(
            Response.json(
                {"error": "invalid_token", "error_description": "Invalid Value"}, status=400
            )
        )
    user, access = found
    body = {
        "azp": access.client_id,
        "aud": access.client_id,
        "sub": user.sub,
        "scope": " ".join(access.scopes),
        "exp": str(int(access.expires_at)),
        "expires_in": str(max(int(access.expires_at) - now, 0)),
        "access_type": "offline"
        if sandbox.google.oauth.has_refresh_token(user.email, access.client_id)
        else "online",
    }
    if EMAIL_SCOPE in access.scopes:
        body.update(email=user.email, email_verified="true")
    return Response.json(body)


@router.route("GET", r"/google/oauth2/v3/certs", name="google.oauth.certs", provider="google")
def certs(request: Request) -> Response:
    with request.sandbox.lock:
        jwks = request.sandbox.google.signing_key.jwks()
    return Response.json(jwks, headers=[("Cache-Control", "public, max-age=21600")])


@router.route(
    "GET",
    r"/google/\.well-known/openid-configuration",
    name="google.oauth.discovery",
    provider="google",
)
def openid_configuration(request: Request) -> Response:
    base = f"{request.base_url}/google"
    document = {
        "issuer": base,
        "authorization_endpoint": f"{base}/o/oauth2/v2/auth",
        "token_endpoint": f"{base}/token",
        "userinfo_endpoint": f"{base}/oauth2/v3/userinfo",
        "revocation_endpoint": f"{base}/revoke",
        "jwks_uri": f"{base}/oauth2/v3/certs",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": [
            "aud",
            "email",
            "email_verified",
            "exp",
            "family_name",
            "given_name",
            "iat",
            "iss",
            "name",
            "sub",
        ],
        "code_challenge_methods_supported": ["plain", "S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }
    return Response(
        200, json.dumps(document, indent=1).encode(), [("Content-Type", "application/json")]
    )
