"""The real google-api-python-client pointed at the sandbox, for the Calendar end-to-end tests.

Credentials come from the real authorization-code flow (authorize with ``auto_approve``, then
the token endpoint); only configuration points the library at the sandbox.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    register_client,
    tls_session,
    token_uri,
)

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
    assert consent.status_code == 302, consent.text
    code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
    tokens = session.post(
        token_uri(sandbox),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    ).json()
    return Credentials(
        token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_uri=token_uri(sandbox),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=SCOPES,
    )


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
