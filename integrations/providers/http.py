"""HTTP plumbing shared by the provider clients: one CA bundle, timeouts, pooled sessions."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

DEFAULT_TIMEOUT_SECONDS = 30


class _TimeoutAdapter(HTTPAdapter):
    """Every request gets a timeout; a hung provider never hangs a worker."""

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = DEFAULT_TIMEOUT_SECONDS
        return super().send(request, **kwargs)


class ProviderSession(requests.Session):
    """A session whose configured CA bundle wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE.

    requests lets those variables replace ``session.verify``; a deployment that trusts a
    private CA for its providers (or the sandbox's) must not be silently overridden.
    """

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is not True and verify in (None, True):
            merged["verify"] = self.verify
        return merged


def ca_bundle() -> str | bool:
    """The CA bundle to trust for provider HTTPS (the sandbox's in the demo and tests)."""
    return settings.PROVIDER_CA_BUNDLE or True


def provider_session(pool_size: int = 10) -> requests.Session:
    session = ProviderSession()
    adapter = _TimeoutAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = ca_bundle()
    return session
