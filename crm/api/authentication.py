"""Bearer tokens for clients, the session for the web UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from crm.models import ApiToken, User
from crm.models.tenants import hash_secret
from crm.tenancy import all_tenants

LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <token>``; the token names its organization."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            secret = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.") from exc
        token = token_by_secret(secret)
        if token is None or not token.is_active or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def token_by_secret(secret: str) -> ApiToken | None:
    """The token whose hash matches, whatever its organization (lookup precedes tenancy)."""
    with all_tenants():
        token = (
            ApiToken.objects.unscoped()
            .select_related("user", "organization")
            .filter(key_hash=hash_secret(secret))
            .first()
        )
        if token is not None:
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
                ApiToken.objects.unscoped().filter(pk=token.pk).update(last_used_at=now)
                token.last_used_at = now
    return token


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session auth (CSRF enforced); answers 401 rather than 403 when missing."""

    def authenticate_header(self, request: Request) -> str:
        return "Session"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "crm.api.authentication.SessionAuthentication"
    name = "sessionAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
