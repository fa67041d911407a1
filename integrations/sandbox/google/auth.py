"""Bearer-token checks for the Google APIs (Gmail here; Calendar may use them too).

Google resolves ``Authorization: Bearer <access token>`` before anything else: no token is
401 ``required``, an unknown, expired or revoked one is 401 ``authError`` (status
UNAUTHENTICATED), and a token without any scope the method accepts is 403
``insufficientPermissions``. Access tokens are opaque and live in the OAuth store.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from integrations.sandbox.google.errors import insufficient_scopes, unauthenticated
from integrations.sandbox.google.oauth_store import AccessToken
from integrations.sandbox.google.state import GoogleState, GoogleUser
from integrations.sandbox.http import Request

GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"


@dataclass
class Caller:
    user: GoogleUser
    token: AccessToken

    def has_scope(self, *scopes: str) -> bool:
        return any(scope in self.token.scopes for scope in scopes)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate(
    request: Request, *, accepted_scopes: Collection[str], service: str, method: str
) -> Caller:
    """The user behind the request's access token, if it carries one of ``accepted_scopes``.

    Call with ``request.sandbox.lock`` held. Sets ``request.log_user`` for the request log.
    """
    token_value = bearer_token(request)
    if token_value is None:
        raise unauthenticated(missing=True)
    state: GoogleState = request.sandbox.google
    token = state.oauth.live_access_token(token_value, request.sandbox.now().timestamp())
    user = state.user(token.email) if token is not None else None
    if token is None or user is None:
        raise unauthenticated(missing=False)
    request.log_user = user.email  # type: ignore[attr-defined]
    if not any(scope in accepted_scopes for scope in token.scopes):
        raise insufficient_scopes(service=service, method=method, required=sorted(accepted_scopes))
    return Caller(user=user, token=token)
