"""Pointing the real Google client libraries at the sandbox, for the Gmail and OAuth tests.

Only configuration differs from production: the API endpoint, the token URI, the batch URI and
the CA bundle. ``trust_env = False`` on requests sessions, because requests lets
``REQUESTS_CA_BUNDLE`` from the environment override ``session.verify``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import google.auth.transport.requests
import httplib2
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from integrations.sandbox.client import SandboxClient

CLIENT_ID = "liaison-test.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-sandbox-secret"
REDIRECT_URI = "http://localhost:8000/integrations/google/callback"
MAIL = "https://mail.google.com/"
GMAIL = "https://www.googleapis.com/auth/gmail."
OPENID_SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
]
ANA = "ana@acme.test"
BEN = "ben@globex.test"


def tls_session(sandbox: SandboxClient) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_bundle
    return session


def auth_request(sandbox: SandboxClient) -> google.auth.transport.requests.Request:
    return google.auth.transport.requests.Request(tls_session(sandbox))


def token_uri(sandbox: SandboxClient) -> str:
    return f"{sandbox.google_base_url}/token"


def register_client(sandbox: SandboxClient) -> None:
    sandbox.google.create_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])


def google_users(sandbox: SandboxClient) -> SandboxClient:
    """The sandbox with the test OAuth client and two users, Ana and Ben."""
    register_client(sandbox)
    sandbox.google.create_user(ANA, "Ana Ruiz")
    sandbox.google.create_user(BEN, "Ben Okafor")
    return sandbox


def grant(sandbox: SandboxClient, email: str, scopes: list[str]) -> Credentials:
    """Credentials as Liaison stores them after consent (minted through the control API)."""
    body = sandbox.call(
        "POST", "/google/tokens", json={"email": email, "client_id": CLIENT_ID, "scopes": scopes}
    )
    return stored_credentials(sandbox, body, scopes)


def stored_credentials(
    sandbox: SandboxClient, tokens: dict[str, Any], scopes: list[str]
) -> Credentials:
    """The test client's Credentials from a token response (access and refresh token)."""
    return Credentials(
        token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_uri=token_uri(sandbox),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=scopes,
    )


def gmail_service(sandbox: SandboxClient, credentials: Credentials) -> Any:
    http = AuthorizedHttp(credentials, http=httplib2.Http(ca_certs=sandbox.ca_bundle))
    return build(
        "gmail",
        "v1",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": f"{sandbox.google_base_url}/"},
    )


def gmail_batch(sandbox: SandboxClient, callback: Any = None) -> BatchHttpRequest:
    return BatchHttpRequest(
        callback=callback, batch_uri=f"{sandbox.google_base_url}/batch/gmail/v1"
    )


def raw_message(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str = "Hello there.",
    cc: str | None = None,
    bcc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    if bcc:
        message["Bcc"] = bcc
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    if date:
        message["Date"] = date
    message.set_content(body)
    return bytes(message)


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


@dataclass
class Mailboxes:
    """Two sandbox users with Gmail services and full-mail credentials."""

    sandbox: SandboxClient
    ana: Credentials
    ben: Credentials

    def service(self, credentials: Credentials | None = None) -> Any:
        return gmail_service(self.sandbox, credentials or self.ana)


def two_mailboxes(sandbox: SandboxClient, *, fill: int = 0, quota: bool = False) -> Mailboxes:
    """Ana (with ``fill`` generated messages) and Ben. Gmail's per-user quota (250 units/s) is
    off unless ``quota``: these tests read faster than Gmail would let them."""
    if not quota:
        sandbox.set_config(gmail_quota_units_per_second=None)
    google_users(sandbox)
    if fill:
        sandbox.google.fill(ANA, seed=7, count=fill)
    return Mailboxes(sandbox, grant(sandbox, ANA, [MAIL]), grant(sandbox, BEN, [MAIL]))
