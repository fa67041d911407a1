"""Issuing and checking the identity platform's tokens, and its OAuth error bodies."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.records import AccessToken, Grant, RefreshToken
from integrations.sandbox.microsoft.scopes import GRAPH_APP_ID, response_scope
from integrations.sandbox.microsoft.state import MicrosoftState

ACCESS_TOKEN_SECONDS = 3599
ID_TOKEN_SECONDS = 3600
AUTH_CODE_SECONDS = 600
REFRESH_TOKEN_INACTIVE_DAYS = 90


def aad_timestamp(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M:%SZ")


def aad_error_body(
    base_url: str, now: datetime, error: str, code: int, text: str, **extra: Any
) -> dict[str, Any]:
    """Entra's OAuth error: the AADSTS text with trace lines, codes, ids, timestamp, error_uri."""
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = aad_timestamp(now)
    description = (
        f"AADSTS{code}: {text}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}"
    )
    return {
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base_url}/error?code={code}",
        **extra,
    }


def aad_error(
    base_url: str, now: datetime, status: int, error: str, code: int, text: str, **extra: Any
) -> Response:
    return Response.json(aad_error_body(base_url, now, error, code, text, **extra), status=status)


def issuer(base_url: str, tenant_id: str) -> str:
    return f"{base_url}/{tenant_id}/v2.0"


def client_info(oid: str, tenant_id: str) -> str:
    raw = json.dumps({"uid": oid, "utid": tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def pairwise_sub(oid: str, client_id: str) -> str:
    # v2 id_tokens carry a subject unique per user *and* app, not the object id.
    digest = hashlib.sha256(f"{oid}|{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:32]).rstrip(b"=").decode("ascii")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def issue_tokens(
    state: MicrosoftState,
    *,
    base_url: str,
    grant: Grant,
    graph_scopes: list[str],
    oidc_scopes: list[str],
    nonce: str | None,
    want_client_info: bool,
) -> dict[str, Any]:
    """The token response for a grant: access token, refresh token, id_token, client_info."""
    now = state.now()
    user = state.users[grant.oid]
    app = state.apps[grant.client_id]
    access = state.signing_key.sign(
        {
            "aud": GRAPH_APP_ID,
            "iss": f"https://sts.windows.net/{user.tenant_id}/",
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + timedelta(seconds=ACCESS_TOKEN_SECONDS)),
            "app_displayname": app.name,
            "appid": app.client_id,
            "appidacr": "1",
            "idtyp": "user",
            "name": user.name,
            "oid": user.oid,
            "scp": " ".join(graph_scopes),
            "sub": user.oid,
            "tid": user.tenant_id,
            "unique_name": user.upn,
            "upn": user.upn,
            "uti": ids.opaque_token(16),
            "ver": "1.0",
        }
    )
    state.access_tokens[access] = AccessToken(
        access,
        grant.grant_id,
        list(graph_scopes),
        now,
        now + timedelta(seconds=ACCESS_TOKEN_SECONDS),
    )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": response_scope(graph_scopes, oidc_scopes),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": access,
    }
    if "offline_access" in oidc_scopes:
        refresh = "1.A" + ids.opaque_token(96)
        state.refresh_tokens[refresh] = RefreshToken(
            refresh, grant.grant_id, [*graph_scopes, *oidc_scopes], now, now
        )
        body["refresh_token"] = refresh
    if "openid" in oidc_scopes:
        claims: dict[str, Any] = {
            "aud": app.client_id,
            "iss": issuer(base_url, user.tenant_id),
            "iat": _epoch(now),
            "nbf": _epoch(now),
            "exp": _epoch(now + timedelta(seconds=ID_TOKEN_SECONDS)),
            "oid": user.oid,
            "sub": pairwise_sub(user.oid, app.client_id),
            "tid": user.tenant_id,
            "uti": ids.opaque_token(16),
            "ver": "2.0",
        }
        if "profile" in oidc_scopes:
            claims.update(name=user.name, preferred_username=user.upn)
        if "email" in oidc_scopes:
            claims["email"] = user.upn
        if nonce is not None:
            claims["nonce"] = nonce
        body["id_token"] = state.signing_key.sign(claims)
    if want_client_info:
        body["client_info"] = client_info(user.oid, user.tenant_id)
    prune_access_tokens(state, now)
    return body


def prune_access_tokens(state: MicrosoftState, now: datetime) -> None:
    """Forget access tokens an hour past expiry so the table does not grow without bound."""
    if len(state.access_tokens) < 512:
        return
    cutoff = now - timedelta(hours=1)
    for token in [t for t, rec in state.access_tokens.items() if rec.expires_at < cutoff]:
        del state.access_tokens[token]
