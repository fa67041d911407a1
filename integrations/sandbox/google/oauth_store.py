"""OAuth clients, authorization codes, grants and tokens of the sandbox's Google identity.

Google's model, which the sandbox keeps: a *grant* is one user's consent to one client for a set
of scopes. Access tokens (opaque, ~1 h) and refresh tokens hang off the grant; revoking any token
(``/revoke``) or the user's consent removes the whole grant, so every refresh token of it then
answers ``invalid_grant``. Times are sandbox-clock epoch seconds, so advancing the clock expires
access tokens and codes.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any

ACCESS_TOKEN_SECONDS = 3599  # Google answers expires_in=3599 for a fresh token
CODE_SECONDS = 600  # authorization codes are short-lived and single-use


def _new_token(prefix: str, nbytes: int) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


@dataclass
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str = ""


@dataclass
class AuthCode:
    code: str
    email: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    issue_refresh_token: bool
    expires_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    used: bool = False


@dataclass
class AccessToken:
    token: str
    email: str
    client_id: str
    scopes: list[str]
    expires_at: float


@dataclass
class RefreshToken:
    token: str
    email: str
    client_id: str
    scopes: list[str]


@dataclass
class Grant:
    email: str
    client_id: str
    scopes: list[str] = field(default_factory=list)


def _grant_key(email: str, client_id: str) -> str:
    return f"{email}\n{client_id}"


def merge_scopes(first: list[str], second: list[str]) -> list[str]:
    """Union keeping first-seen order (Google answers scopes in a stable order)."""
    return list(dict.fromkeys([*first, *second]))


class OAuthStore:
    def __init__(self) -> None:
        self.clients: dict[str, OAuthClient] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    # -- grants --------------------------------------------------------------------------------

    def grant(self, email: str, client_id: str) -> Grant | None:
        return self.grants.get(_grant_key(email, client_id))

    def has_refresh_token(self, email: str, client_id: str) -> bool:
        return any(
            t.email == email and t.client_id == client_id for t in self.refresh_tokens.values()
        )

    def record_consent(self, email: str, client_id: str, scopes: list[str]) -> Grant:
        key = _grant_key(email, client_id)
        grant = self.grants.get(key) or Grant(email=email, client_id=client_id)
        grant.scopes = merge_scopes(grant.scopes, scopes)
        self.grants[key] = grant
        return grant

    def revoke_grant(self, email: str, client_id: str) -> None:
        self.grants.pop(_grant_key(email, client_id), None)
        self.access_tokens = {
            k: t
            for k, t in self.access_tokens.items()
            if not (t.email == email and t.client_id == client_id)
        }
        self.refresh_tokens = {
            k: t
            for k, t in self.refresh_tokens.items()
            if not (t.email == email and t.client_id == client_id)
        }
        self.codes = {
            k: c
            for k, c in self.codes.items()
            if not (c.email == email and c.client_id == client_id)
        }

    def revoke_user(self, email: str, client_id: str | None = None) -> int:
        """Revoke every grant of ``email`` (to one client, or all); the number revoked."""
        keys = {(t.email, t.client_id) for t in self.access_tokens.values()}
        keys |= {(t.email, t.client_id) for t in self.refresh_tokens.values()}
        keys |= {(g.email, g.client_id) for g in self.grants.values()}
        doomed = [(e, c) for e, c in keys if e == email and client_id in (None, c)]
        for grant_email, grant_client in doomed:
            self.revoke_grant(grant_email, grant_client)
        return len(doomed)

    def revoke_token(self, token: str) -> bool:
        """``/revoke``: any access or refresh token takes its whole grant with it."""
        found = self.access_tokens.get(token) or self.refresh_tokens.get(token)
        if found is None:
            return False
        self.revoke_grant(found.email, found.client_id)
        return True

    # -- codes and tokens ----------------------------------------------------------------------

    def issue_code(self, **fields: Any) -> AuthCode:
        code = AuthCode(code=_new_token("4/0A", 48), **fields)
        self.codes[code.code] = code
        return code

    def issue_access_token(
        self, email: str, client_id: str, scopes: list[str], now: float
    ) -> AccessToken:
        token = AccessToken(
            _new_token("ya29.a0", 96), email, client_id, list(scopes), now + ACCESS_TOKEN_SECONDS
        )
        self.access_tokens[token.token] = token
        return token

    def issue_refresh_token(self, email: str, client_id: str, scopes: list[str]) -> RefreshToken:
        token = RefreshToken(_new_token("1//0", 64), email, client_id, list(scopes))
        self.refresh_tokens[token.token] = token
        return token

    def live_access_token(self, token: str, now: float) -> AccessToken | None:
        found = self.access_tokens.get(token)
        if found is None:
            return None
        if found.expires_at <= now:
            del self.access_tokens[token]  # expired tokens never come back
            return None
        return found

    def drop_expired(self, now: float) -> None:
        self.access_tokens = {k: t for k, t in self.access_tokens.items() if t.expires_at > now}
        self.codes = {k: c for k, c in self.codes.items() if c.expires_at > now}

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "clients": [dataclasses.asdict(c) for c in self.clients.values()],
            "codes": [dataclasses.asdict(c) for c in self.codes.values()],
            "grants": [dataclasses.asdict(g) for g in self.grants.values()],
            "access_tokens": [dataclasses.asdict(t) for t in self.access_tokens.values()],
            "refresh_tokens": [dataclasses.asdict(t) for t in self.refresh_tokens.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OAuthStore:
        store = cls()
        store.clients = {c["client_id"]: OAuthClient(**c) for c in data.get("clients", [])}
        store.codes = {c["code"]: AuthCode(**c) for c in data.get("codes", [])}
        store.grants = {
            _grant_key(g["email"], g["client_id"]): Grant(**g) for g in data.get("grants", [])
        }
        store.access_tokens = {t["token"]: AccessToken(**t) for t in data.get("access_tokens", [])}
        store.refresh_tokens = {
            t["token"]: RefreshToken(**t) for t in data.get("refresh_tokens", [])
        }
        return store
