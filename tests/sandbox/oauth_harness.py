"""OAuth helpers for the Google sandbox tests: a google-auth-oauthlib ``Flow`` on the sandbox's
endpoints and a "browser" that follows the authorize page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    ANA,
    CLIENT_ID,
    CLIENT_SECRET,
    GMAIL,
    OPENID_SCOPES,
    REDIRECT_URI,
    tls_session,
    token_uri,
)

SCOPES = [*OPENID_SCOPES, f"{GMAIL}readonly"]


def make_flow(sandbox: SandboxClient, scopes: list[str] = SCOPES) -> Flow:
    base = sandbox.google_base_url
    flow = Flow.from_client_config(
        {
            "web": {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "auth_uri": f"{base}/o/oauth2/v2/auth",
                "token_uri": f"{base}/token",
                "redirect_uris": [REDIRECT_URI],
            }
        },
        scopes=scopes,
        redirect_uri=REDIRECT_URI,
    )
    flow.oauth2session.trust_env = False
    flow.oauth2session.verify = sandbox.ca_bundle
    return flow


def browse(sandbox: SandboxClient, url: str) -> Any:
    return tls_session(sandbox).get(url, allow_redirects=False)


def redirect_params(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI)
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(sandbox: SandboxClient, flow: Flow, **params: str) -> dict[str, str]:
    url, _ = flow.authorization_url(login_hint=ANA, **params)
    return redirect_params(browse(sandbox, url))


def token_post(sandbox: SandboxClient, data: dict[str, str]) -> Any:
    return tls_session(sandbox).post(token_uri(sandbox), data=data)


def exchange_code(
    sandbox: SandboxClient,
    code: str,
    *,
    code_verifier: str | None = None,
    redirect_uri: str = REDIRECT_URI,
) -> Any:
    """The token endpoint's answer to an authorization-code grant from the test client."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    if code_verifier is not None:
        data["code_verifier"] = code_verifier
    return token_post(sandbox, data)


def offline_credentials(google: SandboxClient) -> Credentials:
    flow = make_flow(google)
    flow.fetch_token(code=authorize(google, flow, access_type="offline")["code"])
    creds = flow.credentials
    assert creds.refresh_token and creds.token_uri == token_uri(google)
    return creds
