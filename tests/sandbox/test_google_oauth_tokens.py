"""Google tokens after the flow, with ``google.oauth2.credentials.Credentials`` and
``google.oauth2.id_token`` unmodified: refresh, revocation, expiry, scopes, userinfo, discovery.
"""

from __future__ import annotations

import pytest
from google.auth.exceptions import RefreshError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    ANA,
    CLIENT_ID,
    GMAIL,
    auth_request,
    google_users,
    tls_session,
    token_uri,
)
from tests.sandbox.oauth_harness import (
    SCOPES,
    authorize,
    make_flow,
    offline_credentials,
)


@pytest.fixture
def google(sandbox: SandboxClient) -> SandboxClient:
    return google_users(sandbox)


def test_credentials_refresh_gets_a_new_access_token(google: SandboxClient) -> None:
    creds = offline_credentials(google)
    before = creds.token
    creds.refresh(auth_request(google))
    assert creds.token != before and creds.valid
    assert creds.id_token  # openid scope: a fresh id_token with every refresh


def test_revoked_grant_makes_refresh_answer_invalid_grant(google: SandboxClient) -> None:
    creds = offline_credentials(google)
    assert google.google.revoke_grants(ANA)["revoked"] == 1
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(auth_request(google))


def test_revoke_endpoint_takes_the_whole_grant(google: SandboxClient) -> None:
    creds = offline_credentials(google)
    answer = tls_session(google).post(
        f"{google.google_base_url}/revoke", data={"token": creds.token}
    )
    assert answer.status_code == 200
    with pytest.raises(RefreshError, match="Token has been expired or revoked"):
        creds.refresh(auth_request(google))
    again = tls_session(google).post(
        f"{google.google_base_url}/revoke", data={"token": creds.token}
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"


def test_expired_access_token_answers_401_unauthenticated(google: SandboxClient) -> None:
    creds = offline_credentials(google)
    google.advance_clock(3600)
    answer = tls_session(google).get(
        f"{google.google_base_url}/gmail/v1/users/me/profile",
        headers={"Authorization": f"Bearer {creds.token}"},
    )
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_missing_scope_answers_403_insufficient_permissions(google: SandboxClient) -> None:
    flow = make_flow(google, [f"{GMAIL}send"])
    token = flow.fetch_token(code=authorize(google, flow)["code"])
    answer = tls_session(google).get(
        f"{google.google_base_url}/gmail/v1/users/me/messages",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["status"] == "PERMISSION_DENIED"


def test_userinfo_answers_the_granted_claims(google: SandboxClient) -> None:
    flow = make_flow(google)
    token = flow.fetch_token(code=authorize(google, flow)["code"])
    info = tls_session(google).get(
        f"{google.google_base_url}/oauth2/v3/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    body = info.json()
    assert body["email"] == ANA and body["name"] == "Ana Ruiz" and body["sub"].isdigit()


def test_tokeninfo_describes_the_access_token(google: SandboxClient) -> None:
    flow = make_flow(google)
    token = flow.fetch_token(code=authorize(google, flow, access_type="offline")["code"])
    info = (
        tls_session(google)
        .get(
            f"{google.google_base_url}/oauth2/v3/tokeninfo",
            params={"access_token": token["access_token"]},
        )
        .json()
    )
    assert info["aud"] == CLIENT_ID and info["email"] == ANA
    assert set(info["scope"].split()) == set(SCOPES)
    assert info["access_type"] == "offline" and 3500 < int(info["expires_in"]) <= 3599


def test_openid_configuration_names_the_sandbox_endpoints(google: SandboxClient) -> None:
    document = (
        tls_session(google).get(f"{google.google_base_url}/.well-known/openid-configuration").json()
    )
    assert document["issuer"] == google.google_base_url
    assert document["token_endpoint"] == token_uri(google)
    keys = tls_session(google).get(document["jwks_uri"]).json()["keys"]
    assert keys[0]["alg"] == "RS256" and keys[0]["kid"]
