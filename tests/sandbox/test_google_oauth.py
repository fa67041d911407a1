"""Google's authorization-code flow against the sandbox with google-auth-oauthlib's ``Flow``
unmodified: consent, PKCE, codes, redirect rules, refresh-token issuance.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from google.oauth2 import id_token
from oauthlib.oauth2.rfc6749.errors import AccessDeniedError

from integrations.sandbox.client import SandboxClient
from tests.sandbox.gmail_harness import (
    ANA,
    BEN,
    CLIENT_ID,
    CLIENT_SECRET,
    GMAIL,
    MAIL,
    auth_request,
    google_users,
    tls_session,
)
from tests.sandbox.oauth_harness import (
    authorize,
    browse,
    exchange_code,
    make_flow,
    redirect_params,
    token_post,
)


@pytest.fixture
def google(sandbox: SandboxClient) -> SandboxClient:
    return google_users(sandbox)


def test_flow_with_pkce_gets_tokens_and_an_id_token_that_verifies(google: SandboxClient) -> None:
    flow = make_flow(google)
    params = authorize(google, flow, access_type="offline", nonce="n-0S6_WzA2Mj", state="xyz")
    assert params["state"] == "xyz"
    token = flow.fetch_token(code=params["code"])
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3599
    assert token["refresh_token"]
    claims = id_token.verify_token(
        flow.credentials.id_token,
        auth_request(google),
        audience=CLIENT_ID,
        certs_url=f"{google.google_base_url}/oauth2/v3/certs",
    )
    assert claims["iss"] == google.google_base_url
    assert claims["email"] == ANA and claims["email_verified"] is True
    assert claims["name"] == "Ana Ruiz"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["exp"] > claims["iat"]


def test_authorize_url_carries_an_s256_challenge_the_token_endpoint_checks(
    google: SandboxClient,
) -> None:
    flow = make_flow(google)
    url, _ = flow.authorization_url(login_hint=ANA)
    assert "code_challenge_method=S256" in url
    params = redirect_params(browse(google, url))
    answer = exchange_code(google, params["code"], code_verifier="x" * 43)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid code verifier.",
    }


def test_consent_page_shows_app_scopes_and_users_and_allow_redirects_with_a_code(
    google: SandboxClient,
) -> None:
    google.set_config(auto_approve=False)
    url, _ = make_flow(google).authorization_url(login_hint=BEN, state="s1")
    page = browse(google, url)
    assert page.status_code == 200
    html = unescape(page.text)
    assert CLIENT_ID in html
    assert "View your email messages and settings" in html
    assert f'value="{BEN}" selected' in page.text and ANA in html
    form = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    answer = tls_session(google).post(
        f"{google.base_url}/google/o/oauth2/v2/auth",
        data={**{k: unescape(v) for k, v in form.items()}, "user": BEN, "decision": "allow"},
        allow_redirects=False,
    )
    params = redirect_params(answer)
    assert params["state"] == "s1" and params["code"]


def test_deny_redirects_with_access_denied_which_the_flow_raises(
    google: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    google.set_config(auto_approve=False)
    flow = make_flow(google)
    url, state = flow.authorization_url(login_hint=ANA)
    form = dict(
        re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', browse(google, url).text)
    )
    answer = tls_session(google).post(
        f"{google.base_url}/google/o/oauth2/v2/auth",
        data={**{k: unescape(v) for k, v in form.items()}, "user": ANA, "decision": "deny"},
        allow_redirects=False,
    )
    assert redirect_params(answer) == {"error": "access_denied", "state": state}
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the callback URL is http://localhost
    with pytest.raises(AccessDeniedError):
        flow.fetch_token(authorization_response=answer.headers["Location"])


def test_a_reused_code_answers_invalid_grant(google: SandboxClient) -> None:
    flow = make_flow(google)
    code = authorize(google, flow)["code"]
    flow.fetch_token(code=code)
    answer = exchange_code(google, code, code_verifier=flow.code_verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_older_than_ten_minutes_answers_invalid_grant(google: SandboxClient) -> None:
    flow = make_flow(google)
    code = authorize(google, flow)["code"]
    google.advance_clock(601)
    answer = exchange_code(google, code, code_verifier=flow.code_verifier)
    assert answer.json()["error"] == "invalid_grant"


def test_token_redirect_uri_must_equal_the_authorize_one(google: SandboxClient) -> None:
    flow = make_flow(google)
    code = authorize(google, flow)["code"]
    answer = exchange_code(
        google, code, code_verifier=flow.code_verifier, redirect_uri="http://localhost:8000/other"
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "redirect_uri_mismatch"


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(google: SandboxClient) -> None:
    url, _ = make_flow(google).authorization_url()
    page = browse(google, url.replace("localhost%3A8000", "evil.example"))
    assert page.status_code == 400
    assert "redirect_uri_mismatch" in page.text


def test_unknown_client_is_an_invalid_client_page(google: SandboxClient) -> None:
    url, _ = make_flow(google).authorization_url()
    page = browse(google, url.replace(CLIENT_ID, "nobody.apps.googleusercontent.com"))
    assert page.status_code == 401
    assert "invalid_client" in page.text


def test_unknown_scope_is_an_invalid_scope_page(google: SandboxClient) -> None:
    url, _ = make_flow(
        google, ["https://www.googleapis.com/auth/drive.nonsense"]
    ).authorization_url()
    page = browse(google, url)
    assert page.status_code == 400 and "invalid_scope" in page.text


def test_wrong_client_secret_answers_invalid_client_401(google: SandboxClient) -> None:
    answer = token_post(
        google,
        {
            "grant_type": "refresh_token",
            "refresh_token": "1//0x",
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
        },
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_unknown_grant_type_answers_unsupported_grant_type(google: SandboxClient) -> None:
    answer = token_post(
        google, {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_refresh_token_comes_only_with_the_first_offline_consent_unless_prompt_consent(
    google: SandboxClient,
) -> None:
    first = make_flow(google)
    first.fetch_token(code=authorize(google, first, access_type="offline")["code"])
    again = make_flow(google)
    token = again.fetch_token(code=authorize(google, again, access_type="offline")["code"])
    assert "refresh_token" not in token
    forced = make_flow(google)
    code = authorize(google, forced, access_type="offline", prompt="consent")["code"]
    assert forced.fetch_token(code=code)["refresh_token"]


def test_online_access_gets_no_refresh_token(google: SandboxClient) -> None:
    flow = make_flow(google)  # Flow asks for access_type=offline unless told otherwise
    code = authorize(google, flow, access_type="online")["code"]
    assert "refresh_token" not in flow.fetch_token(code=code)


def test_include_granted_scopes_adds_the_scopes_granted_before(google: SandboxClient) -> None:
    first = make_flow(google, [f"{GMAIL}readonly"])
    first.fetch_token(code=authorize(google, first)["code"])
    second = make_flow(google, [MAIL])
    params = authorize(google, second, include_granted_scopes="true")
    assert set(params["scope"].split()) == {MAIL, f"{GMAIL}readonly"}


def test_shorthand_scopes_come_back_expanded_as_google_grants_them(
    google: SandboxClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")  # what Google forces on oauthlib users
    flow = make_flow(google, ["openid", "email"])
    token = flow.fetch_token(code=authorize(google, flow)["code"])
    assert token["scope"] == ["openid", "https://www.googleapis.com/auth/userinfo.email"]


def test_prompt_none_needs_an_earlier_consent(google: SandboxClient) -> None:
    silent = make_flow(google)
    assert authorize(google, silent, prompt="none")["error"] == "consent_required"
    first = make_flow(google)
    first.fetch_token(code=authorize(google, first)["code"])
    again = make_flow(google)
    assert again.fetch_token(code=authorize(google, again, prompt="none")["code"])
