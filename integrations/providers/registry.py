"""The providers Liaison can connect, by name."""

from __future__ import annotations

from integrations.providers.base import OAuthProvider
from integrations.providers.google.oauth import GoogleOAuth
from integrations.providers.microsoft.oauth import MicrosoftOAuth

PROVIDERS: dict[str, OAuthProvider] = {"google": GoogleOAuth(), "microsoft": MicrosoftOAuth()}


def provider_get(name: str) -> OAuthProvider | None:
    return PROVIDERS.get(name)
