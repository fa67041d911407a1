"""Bearer tokens for clients, the session for the web UI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from django.db.models import F, FilteredRelation, Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from crm.models import ApiToken, Membership, User
from crm.models.tenants import hash_secret
from crm.selectors import membership_for
from crm.tenancy import all_tenants

LAST_USED_PRECISION = timedelta(minutes=1)
MEMBERSHIP_FIELDS = ["id", "user_id", "organization_id", "role", "created_at"]


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
    """The token whose hash matches, whatever its organization (lookup precedes tenancy), read
    with its user, its organization and the user's membership there in one query."""
    with all_tenants():
        own = FilteredRelation(
            "user__memberships", condition=Q(user__memberships__organization=F("organization"))
        )
        token = (
            ApiToken.objects.unscoped()
            .select_related("user", "organization")
            .annotate(own=own)
            .annotate(**{f"membership_{name}": F(f"own__{name}") for name in MEMBERSHIP_FIELDS})
            .filter(key_hash=hash_secret(secret))
            .first()
        )
        if token is not None:
            now = timezone.now()
            if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
                ApiToken.objects.unscoped().filter(pk=token.pk).update(last_used_at=now)
                token.last_used_at = now
    if token is not None:
        values = [getattr(token, f"membership_{name}") for name in MEMBERSHIP_FIELDS]
        membership = None
        if values[0] is not None:
            membership = Membership.from_db("default", MEMBERSHIP_FIELDS, values)
            membership.user, membership.organization = token.user, token.organization
        token._membership = membership
    return token


def token_membership(token: ApiToken) -> Membership | None:
    """The membership a token acts as: its user's in its organization (None: no longer one)."""
    if hasattr(token, "_membership"):
        return cast(Membership | None, token._membership)
    return membership_for(user=token.user, organization=token.organization)


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
