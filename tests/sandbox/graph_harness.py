"""Helpers for the Microsoft sandbox tests: a tenant with users, an app, MSAL and Graph clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import requests

from integrations.sandbox.client import SandboxClient

CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "sandbox~secret~value"
REDIRECT_URI = "https://app.liaison.test/oauth/microsoft/callback"
MAIL_SCOPES = [
    "User.Read",
    "Mail.ReadWrite",
    "Mail.Send",
    "Calendars.ReadWrite",
    "MailboxSettings.Read",
]


@dataclass
class Directory:
    tenant_id: str
    domain: str
    alice: dict[str, Any]
    bob: dict[str, Any]


def seed_directory(
    sandbox: SandboxClient, domain: str = "contoso.test", **tenant: Any
) -> Directory:
    """An app, a tenant, Alice and Bob."""
    if not any(a["client_id"] == CLIENT_ID for a in sandbox.call("GET", "/microsoft/apps")["apps"]):
        sandbox.microsoft.create_app(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    created = sandbox.call(
        "POST",
        "/microsoft/tenants",
        json={"domain": domain, "name": domain.split(".")[0].title(), **tenant},
    )
    tid = created["tenant_id"]
    alice = sandbox.microsoft.create_user(tid, f"alice@{domain}", "Alice Archer")
    bob = sandbox.microsoft.create_user(tid, f"bob@{domain}", "Bob Baker")
    return Directory(tid, domain, alice, bob)


def http_session(sandbox: SandboxClient) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = sandbox.ca_bundle
    return session


def msal_app(
    sandbox: SandboxClient, tenant: str = "organizations", session: requests.Session | None = None
) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=CLIENT_SECRET,
        authority=f"{sandbox.microsoft_login_url}/{tenant}",
        http_client=session or http_session(sandbox),
        instance_discovery=False,
    )


def redirect_params(response: requests.Response) -> dict[str, str]:
    """The query of the redirect the authorize leg ended with (what reaches the app)."""
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def consent_form(page: str) -> tuple[str, dict[str, str]]:
    """(ctx, {upn: object id}) from the consent page's form."""
    ctx = re.search(r"name='ctx' value='([^']+)'", page)
    assert ctx, page
    users = dict(
        (upn, oid)
        for oid, upn in re.findall(
            r"name='user' value='([^']+)'[^>]*> [^<]*<span class='muted'>([^<]+)</span>", page
        )
    )
    return ctx.group(1), users


def sign_in(
    sandbox: SandboxClient,
    app: msal.ConfidentialClientApplication,
    scopes: list[str],
    *,
    login_hint: str | None = None,
) -> dict[str, Any]:
    """The whole auth-code flow with auto-approve: authorize, redirect, redeem with MSAL."""
    flow = app.initiate_auth_code_flow(scopes, redirect_uri=REDIRECT_URI, login_hint=login_hint)
    leg = http_session(sandbox).get(flow["auth_uri"], allow_redirects=False)
    return app.acquire_token_by_auth_code_flow(flow, redirect_params(leg))


class Graph:
    """requests against the sandbox's Graph with one user's bearer token."""

    def __init__(self, sandbox: SandboxClient, token: str) -> None:
        self.base = sandbox.microsoft_graph_url
        self.session = http_session(sandbox)
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("https://") else f"{self.base}/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.url(path), **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.patch(self.url(path), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.delete(self.url(path), **kwargs)

    def delta_round(self, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], str]:
        """Every entry of one delta round (following nextLinks), and the deltaLink ending it."""
        entries: list[dict[str, Any]] = []
        while True:
            response = self.get(url, **kwargs)
            assert response.status_code == 200, response.text
            page = response.json()
            entries += page["value"]
            if "@odata.deltaLink" in page:
                return entries, page["@odata.deltaLink"]
            url = page["@odata.nextLink"]


def token_for(sandbox: SandboxClient, upn: str, scopes: list[str] | None = None) -> dict[str, Any]:
    return sandbox.call(
        "POST",
        "/microsoft/tokens",
        json={"upn": upn, "client_id": CLIENT_ID, "scopes": scopes or MAIL_SCOPES},
    )


def graph_for(sandbox: SandboxClient, upn: str, scopes: list[str] | None = None) -> Graph:
    return Graph(sandbox, token_for(sandbox, upn, scopes)["access_token"])


def rfc822(
    *,
    sender: str,
    to: str,
    subject: str,
    body: str = "Hello there.",
    message_id: str | None = None,
    extra: str = "",
) -> str:
    mid = message_id or f"<{abs(hash((sender, to, subject)))}@mail.example.test>"
    return (
        f"From: Sender <{sender}>\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 06 Jan 2025 10:00:00 +0000\r\nMessage-ID: {mid}\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    )
