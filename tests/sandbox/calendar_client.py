"""The real google-api-python-client pointed at the sandbox, for the Calendar end-to-end tests.

Credentials come from the real authorization-code flow (authorize with ``auto_approve``, then
the token endpoint); only configuration points the library at the sandbox.
"""

from __future__ import annotations

from typing import Any

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    CLIENT_ID,
    REDIRECT_URI,
    register_client,
    stored_credentials,
    tls_session,
)
from tests.sandbox.oauth_harness import exchange_code, redirect_params

OWNER = "carla@initech.test"
SCOPES = ["https://www.googleapis.com/auth/calendar"]
PARIS = "Europe/Paris"


def authorized_credentials(sandbox: SandboxClient) -> Credentials:
    """Consent (auto-approved) and a code exchanged at the token endpoint, as Liaison does."""
    session = tls_session(sandbox)
    consent = session.get(
        f"{sandbox.google_base_url}/o/oauth2/v2/auth",
        allow_redirects=False,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": " ".join(SCOPES),
            "access_type": "offline",
            "login_hint": OWNER,
        },
    )
    code = redirect_params(consent)["code"]
    return stored_credentials(sandbox, exchange_code(sandbox, code).json(), SCOPES)


def calendar_service(sandbox: SandboxClient) -> Any:
    """A Calendar v3 client for a fresh sandbox user, authorized through OAuth."""
    register_client(sandbox)
    sandbox.google.create_user(OWNER, "Carla Diaz")
    http = AuthorizedHttp(
        authorized_credentials(sandbox), http=httplib2.Http(ca_certs=sandbox.ca_bundle)
    )
    # api_endpoint replaces rootUrl + servicePath ("calendar/v3/"), as for www.googleapis.com.
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": f"{sandbox.google_base_url}/calendar/v3/"},
    )


def paris(local: str) -> dict[str, str]:
    return {"dateTime": local, "timeZone": PARIS}
