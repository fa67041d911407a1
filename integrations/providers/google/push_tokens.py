"""Pub/Sub push requests: the OIDC token that authenticates them, and the Gmail message inside.

A push subscription with authentication sends ``Authorization: Bearer <JWT>``, RS256-signed with
one of Google's keys (GOOGLE_PUSH_JWKS_URL); ``aud`` is the subscription's audience, ``iss``
``accounts.google.com`` with or without ``https://``, ``email`` the subscription's service
account. The key set is fetched with the provider session, so PROVIDER_CA_BUNDLE is trusted
(PyJWKClient would use urllib and the system store), and cached: an unknown ``kid`` refetches
it, at most once a minute, because Google rotates its keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
import requests

from integrations.providers.http import ca_bundle, provider_session

KEYS_TTL_SECONDS = 300
KEYS_REFETCH_SECONDS = 60
KEYS_TIMEOUT_SECONDS = 10
LEEWAY_SECONDS = 30  # clock skew between Google and this host


class PushTokenInvalid(Exception):
    """The request is not a genuine push for this subscription; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PushKeysUnavailable(Exception):
    """Google's signing keys could not be fetched: the push cannot be judged now (retry)."""


@dataclass(frozen=True)
class GmailPushMessage:
    email_address: str  # lower-case
    history_id: str


@dataclass
class _KeySet:
    keys: jwt.PyJWKSet
    fetched_at: float


_cache: dict[str, _KeySet] = {}
_cache_lock = threading.Lock()


def _fetch_keys(url: str) -> jwt.PyJWKSet:
    try:
        with provider_session(pool_size=1) as session:
            response = session.get(url, timeout=KEYS_TIMEOUT_SECONDS, verify=ca_bundle())
        response.raise_for_status()
        return jwt.PyJWKSet.from_dict(response.json())
    except (requests.RequestException, ValueError, jwt.PyJWKSetError) as exc:
        raise PushKeysUnavailable(f"Google's push signing keys are unavailable: {exc}") from exc


def _signing_key(url: str, kid: str) -> jwt.PyJWK:
    with _cache_lock:
        now = time.monotonic()
        cached = _cache.get(url)
        age = now - cached.fetched_at if cached is not None else None
        key = _find(cached.keys, kid) if cached is not None else None
        if age is None or age >= KEYS_TTL_SECONDS or (key is None and age >= KEYS_REFETCH_SECONDS):
            cached = _cache[url] = _KeySet(_fetch_keys(url), now)
            key = _find(cached.keys, kid)
    if key is None:
        raise PushTokenInvalid(f"unknown signing key {kid!r}")
    return key


def _find(keys: jwt.PyJWKSet, kid: str) -> jwt.PyJWK | None:
    return next((key for key in keys.keys if key.key_id == kid), None)


def push_keys_forget() -> None:
    """Drop the cached key sets (tests, or after changing GOOGLE_PUSH_JWKS_URL)."""
    with _cache_lock:
        _cache.clear()


def push_token_verify(
    token: str, *, jwks_url: str, audience: str, issuer: str, service_account: str = ""
) -> dict[str, Any]:
    """The verified claims of a push request's bearer token.

    ``issuer`` is accepted with and without its ``https://`` (Google uses both forms). Raises
    PushTokenInvalid, or PushKeysUnavailable when the keys cannot be fetched.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError as exc:
        raise PushTokenInvalid(f"malformed token: {exc}") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise PushTokenInvalid("token names no signing key")
    key = _signing_key(jwks_url, kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=audience,
            issuer=[issuer, issuer.removeprefix("https://")],
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise PushTokenInvalid(str(exc) or type(exc).__name__) from exc
    if service_account and not (
        claims.get("email") == service_account and claims.get("email_verified") is True
    ):
        raise PushTokenInvalid(f"token is not from the service account {service_account}")
    return claims


def gmail_push_message(body: Any) -> GmailPushMessage:
    """The Gmail notification in a Pub/Sub push body; ValueError when it holds none."""
    message = body.get("message") if isinstance(body, dict) else None
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, str):
        raise ValueError("no message.data")
    try:
        decoded = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_"))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("message.data is not base64 JSON") from exc
    address = decoded.get("emailAddress") if isinstance(decoded, dict) else None
    history_id = decoded.get("historyId") if isinstance(decoded, dict) else None
    if not isinstance(address, str) or not address.strip() or history_id in (None, ""):
        raise ValueError("message.data lacks emailAddress or historyId")
    return GmailPushMessage(email_address=address.strip().lower(), history_id=str(history_id))
