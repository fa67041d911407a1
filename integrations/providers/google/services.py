"""google-api-python-client service objects for Gmail and Calendar, authorized by a DriverContext.

Only configuration differs between Google and the sandbox: ``GOOGLE_API_ENDPOINT``,
``GOOGLE_BATCH_URI`` and ``PROVIDER_CA_BUNDLE``. The token never lives here: it comes from
``ctx.token()`` before every HTTP request, and a 401 makes google-auth call ``refresh``, which
forces ``ctx.renew()`` (InvalidGrant from there goes straight up to the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httplib2
from django.conf import settings
from google.auth.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build

from integrations.providers.google.batch_wire import WireBatchHttpRequest
from integrations.providers.mail import DriverContext

HTTP_TIMEOUT_SECONDS = 60
# One renewal per 401: a token that Google still refuses right after renewal will not improve.
MAX_RENEWALS_PER_REQUEST = 1


class ContextCredentials(Credentials):
    """Credentials whose token is the context's: current before each request, renewed on 401.

    No ``expiry`` is kept here on purpose: the context owns expiry and refresh margins, so the
    google-auth base class never decides on its own that the token is stale.
    """

    def __init__(self, ctx: DriverContext) -> None:
        super().__init__()
        self._ctx = ctx

    def refresh(self, request: Any) -> None:
        # Called with no token yet (first batch serialisation) or after Google answered 401.
        if self.token is None:
            self.token = self._ctx.token()
            return
        self.token = self._ctx.renew()

    def before_request(self, request: Any, method: str, url: str, headers: Any) -> None:
        # The context may have rotated the token (another worker refreshed it): ask every time.
        self.token = self._ctx.token()
        self.apply(headers)


def authorized_http(ctx: DriverContext) -> AuthorizedHttp:
    # ca_certs is explicit: HTTPLIB2_CA_CERTS in the environment would replace the bundle.
    http = httplib2.Http(ca_certs=settings.PROVIDER_CA_BUNDLE or None, timeout=HTTP_TIMEOUT_SECONDS)
    return AuthorizedHttp(
        ContextCredentials(ctx), http=http, max_refresh_attempts=MAX_RENEWALS_PER_REQUEST
    )


def _client_options(service_path: str) -> dict[str, str]:
    endpoint = settings.GOOGLE_API_ENDPOINT
    if not endpoint:
        return {}
    # api_endpoint replaces rootUrl + servicePath of the discovery document.
    return {"api_endpoint": f"{endpoint.rstrip('/')}/{service_path}"}


def _service(name: str, version: str, service_path: str, http: AuthorizedHttp) -> Any:
    return build(
        name,
        version,
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options=_client_options(service_path),
    )


def gmail_service(ctx: DriverContext, http: AuthorizedHttp | None = None) -> Any:
    """The Gmail v1 service (servicePath "" — its method paths start with ``gmail/v1/``)."""
    return _service("gmail", "v1", "", http or authorized_http(ctx))


def calendar_service(ctx: DriverContext, http: AuthorizedHttp | None = None) -> Any:
    """The Calendar v3 service (servicePath ``calendar/v3/``)."""
    return _service("calendar", "v3", "calendar/v3/", http or authorized_http(ctx))


def gmail_batch(callback: Callable[[str, Any, Exception | None], None]) -> WireBatchHttpRequest:
    # The batch endpoint ignores api_endpoint in google-api-python-client: name it explicitly.
    return WireBatchHttpRequest(callback=callback, batch_uri=settings.GOOGLE_BATCH_URI)
