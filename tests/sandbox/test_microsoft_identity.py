"""The Microsoft identity platform v2 emulation, driven by the real MSAL over HTTPS."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import urlsplit

import jwt
import msal
import pytest

from tests.sandbox.graph_harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    Graph,
    consent_form,
    http_session,
    msal_app,
    redirect_params,
    seed_directory,
    sign_in,
)

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post':UserWarning")


def _token_post(sandbox, tenant: str, **form: str):
    return http_session(sandbox).post(
        f"{sandbox.microsoft_login_url}/{tenant}/oauth2/v2.0/token",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form},
    )


def _code(sandbox, directory, scope: str = "openid offline_access Mail.Read", **extra: str):
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "s1",
        "login_hint": directory.alice["userPrincipalName"],
        **extra,
    }
    leg = http_session(sandbox).get(
        f"{sandbox.microsoft_login_url}/{directory.tenant_id}/oauth2/v2.0/authorize",
        params=params,
        allow_redirects=False,
    )
    return redirect_params(leg)


def test_tenant_discovery_by_domain_names_endpoints_by_tenant_guid(sandbox):
    directory = seed_directory(sandbox)
    doc = (
        http_session(sandbox)
        .get(f"{sandbox.microsoft_login_url}/contoso.test/v2.0/.well-known/openid-configuration")
        .json()
    )
    root = f"{sandbox.microsoft_login_url}/{directory.tenant_id}"
    assert doc["issuer"] == f"{root}/v2.0"
    assert doc["token_endpoint"] == f"{root}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{root}/oauth2/v2.0/authorize"
    assert doc["jwks_uri"] == f"{root}/discovery/v2.0/keys"


def test_common_discovery_issuer_is_the_tenantid_template(sandbox):
    doc = (
        http_session(sandbox)
        .get(f"{sandbox.microsoft_login_url}/common/v2.0/.well-known/openid-configuration")
        .json()
    )
    assert doc["issuer"] == f"{sandbox.microsoft_login_url}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"].endswith("/common/oauth2/v2.0/token")


def test_unknown_tenant_answers_invalid_tenant_aadsts90002(sandbox):
    response = http_session(sandbox).get(
        f"{sandbox.microsoft_login_url}/nowhere.test/v2.0/.well-known/openid-configuration"
    )
    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "invalid_tenant" and body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'nowhere.test' not found")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)


def test_msal_with_sandbox_instance_discovery_endpoint_finds_the_tenant(sandbox):
    directory = seed_directory(sandbox)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=CLIENT_SECRET,
        authority=f"{sandbox.microsoft_login_url}/{directory.tenant_id}",
        http_client=http_session(sandbox),
        instance_discovery=f"{sandbox.microsoft_login_url}/common/discovery/instance",
    )
    assert app.authority.token_endpoint.endswith(f"/{directory.tenant_id}/oauth2/v2.0/token")


def test_auth_code_flow_with_pkce_gives_tokens_client_info_and_echoed_nonce(sandbox):
    directory = seed_directory(sandbox)
    app = msal_app(sandbox)
    result = sign_in(
        sandbox, app, ["User.Read", "Mail.Read"], login_hint=directory.alice["userPrincipalName"]
    )
    # MSAL itself raises when the id_token nonce differs from the hash of its flow nonce.
    assert "access_token" in result and "refresh_token" in result, result
    assert result["scope"] == "Mail.Read User.Read profile openid email"
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == "alice@contoso.test"
    assert claims["tid"] == directory.tenant_id and claims["aud"] == CLIENT_ID
    info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert info == {"uid": directory.alice["id"], "utid": directory.tenant_id}
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{directory.alice['id']}.{directory.tenant_id}"
    assert app.acquire_token_silent(["Mail.Read"], account=account)["access_token"]


@pytest.mark.parametrize("authority", ["common", "tenant-guid", "contoso.test"])
def test_sign_in_works_through_common_tenant_guid_and_domain_authorities(sandbox, authority):
    directory = seed_directory(sandbox)
    tenant = directory.tenant_id if authority == "tenant-guid" else authority
    result = sign_in(
        sandbox, msal_app(sandbox, tenant), ["Mail.Read"], login_hint="alice@contoso.test"
    )
    assert result["id_token_claims"]["tid"] == directory.tenant_id, result


def test_id_token_verifies_against_the_published_jwks(sandbox):
    directory = seed_directory(sandbox)
    result = sign_in(
        sandbox, msal_app(sandbox), ["User.Read"], login_hint=directory.alice["userPrincipalName"]
    )
    jwks_uri = f"{sandbox.microsoft_login_url}/{directory.tenant_id}/discovery/v2.0/keys"
    keys = jwt.PyJWKSet.from_dict(http_session(sandbox).get(jwks_uri).json())
    kid = jwt.get_unverified_header(result["id_token"])["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(
        result["id_token"],
        key.key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=f"{sandbox.microsoft_login_url}/{directory.tenant_id}/v2.0",
    )
    assert claims["oid"] == directory.alice["id"]


def test_consent_page_lists_app_scopes_and_accepts_the_chosen_account(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(auto_approve=False)
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(
        ["Mail.Read"], redirect_uri=REDIRECT_URI, login_hint="bob@contoso.test"
    )
    session = http_session(sandbox)
    page = session.get(flow["auth_uri"]).text
    assert "Mail.Read" in page and CLIENT_ID in page
    ctx, users = consent_form(page)
    assert "checked> Bob Baker" in page
    tenant = urlsplit(flow["auth_uri"]).path.split("/")[1]
    leg = session.post(
        f"{sandbox.microsoft_login_url}/{tenant}/login",
        allow_redirects=False,
        data={"ctx": ctx, "user": users["bob@contoso.test"], "action": "accept"},
    )
    result = app.acquire_token_by_auth_code_flow(flow, redirect_params(leg))
    assert result["id_token_claims"]["preferred_username"] == "bob@contoso.test"


def test_cancel_on_consent_page_answers_access_denied_aadsts65004(sandbox):
    seed_directory(sandbox)
    sandbox.set_config(auto_approve=False)
    app = msal_app(sandbox)
    flow = app.initiate_auth_code_flow(["Mail.Read"], redirect_uri=REDIRECT_URI, state="xyz")
    session = http_session(sandbox)
    ctx, users = consent_form(session.get(flow["auth_uri"]).text)
    leg = session.post(
        f"{sandbox.microsoft_login_url}/organizations/login",
        allow_redirects=False,
        data={"ctx": ctx, "user": next(iter(users.values())), "action": "cancel"},
    )
    params = redirect_params(leg)
    assert params["state"] == "xyz" and params["error_subcode"] == "cancel"
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result["error"] == "access_denied"
    assert result["error_description"].startswith("AADSTS65004: User declined to consent")


def test_admin_only_scope_without_admin_consent_answers_consent_required(sandbox):
    directory = seed_directory(sandbox)
    params = _code(sandbox, directory, scope="openid User.Read.All")
    assert params["error"] == "consent_required"
    assert params["error_description"].startswith(
        "AADSTS65001: The user or administrator has not consented"
    )


def test_tenant_without_user_consent_needs_admin_consent_for_any_scope(sandbox):
    directory = seed_directory(sandbox, user_consent_allowed=False)
    assert _code(sandbox, directory)["error"] == "consent_required"


def test_admin_consent_is_recorded_tenant_wide_and_then_sign_in_succeeds(sandbox):
    directory = seed_directory(sandbox, user_consent_allowed=False)
    leg = http_session(sandbox).get(
        f"{sandbox.microsoft_login_url}/{directory.tenant_id}/v2.0/adminconsent",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "state": "adm",
            "scope": "https://graph.microsoft.com/Mail.Read",
        },
        allow_redirects=False,
    )
    params = redirect_params(leg)
    assert params == {
        "admin_consent": "True",
        "tenant": directory.tenant_id,
        "state": "adm",
        "scope": "https://graph.microsoft.com/Mail.Read",
    }
    assert "code" in _code(sandbox, directory)


def test_authorization_code_is_single_use_aadsts54005(sandbox):
    directory = seed_directory(sandbox)
    code = _code(sandbox, directory)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    assert _token_post(sandbox, directory.tenant_id, **form).status_code == 200
    again = _token_post(sandbox, directory.tenant_id, **form)
    assert again.status_code == 400 and again.json()["error_codes"] == [54005]


def test_expired_authorization_code_answers_aadsts70008(sandbox):
    directory = seed_directory(sandbox)
    code = _code(sandbox, directory)["code"]
    sandbox.advance_clock(11 * 60)
    response = _token_post(
        sandbox,
        directory.tenant_id,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
    )
    assert response.json()["error"] == "invalid_grant"
    assert response.json()["error_codes"] == [70008]


def test_pkce_verifier_must_match_the_s256_challenge(sandbox):
    directory = seed_directory(sandbox)
    verifier = "v" * 50
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    extra = {"code_challenge": challenge, "code_challenge_method": "S256"}
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    wrong = _token_post(
        sandbox,
        directory.tenant_id,
        code=_code(sandbox, directory, **extra)["code"],
        code_verifier="w" * 50,
        **form,
    )
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [501481]
    right = _token_post(
        sandbox,
        directory.tenant_id,
        code=_code(sandbox, directory, **extra)["code"],
        code_verifier=verifier,
        **form,
    )
    assert right.status_code == 200


def test_redirect_uri_must_match_the_one_given_to_authorize(sandbox):
    directory = seed_directory(sandbox)
    response = _token_post(
        sandbox,
        directory.tenant_id,
        grant_type="authorization_code",
        code=_code(sandbox, directory)["code"],
        redirect_uri="https://elsewhere.test/cb",
    )
    assert response.json()["error_codes"] == [500112]


def test_unregistered_redirect_uri_shows_an_error_page_instead_of_redirecting(sandbox):
    directory = seed_directory(sandbox)
    leg = http_session(sandbox).get(
        f"{sandbox.microsoft_login_url}/{directory.tenant_id}/oauth2/v2.0/authorize",
        params={
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": "https://evil.test/cb",
        },
        allow_redirects=False,
    )
    assert leg.status_code == 400 and "Location" not in leg.headers
    assert "AADSTS50011" in leg.text


def test_wrong_client_secret_answers_invalid_client_401_aadsts7000215(sandbox):
    directory = seed_directory(sandbox)
    response = http_session(sandbox).post(
        f"{sandbox.microsoft_login_url}/{directory.tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": "nope",
            "grant_type": "refresh_token",
            "refresh_token": "x",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_codes"] == [7000215]


def test_refresh_issues_a_new_refresh_token_and_the_old_one_keeps_working(sandbox):
    directory = seed_directory(sandbox)
    app = msal_app(sandbox)
    first = sign_in(sandbox, app, ["Mail.Read"], login_hint="alice@contoso.test")
    second = app.acquire_token_by_refresh_token(first["refresh_token"], ["Mail.Read"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert "id_token" in second and "nonce" not in second["id_token_claims"]
    again = app.acquire_token_by_refresh_token(first["refresh_token"], ["Mail.Read"])
    assert "access_token" in again, again
    assert directory.alice["id"] == second["id_token_claims"]["oid"]


def test_revoked_grant_answers_invalid_grant_aadsts50173_and_graph_401(sandbox):
    seed_directory(sandbox)
    app = msal_app(sandbox)
    tokens = sign_in(sandbox, app, ["User.Read", "Mail.Read"], login_hint="alice@contoso.test")
    sandbox.microsoft.revoke_grants("alice@contoso.test")
    result = app.acquire_token_by_refresh_token(tokens["refresh_token"], ["Mail.Read"])
    assert result["error"] == "invalid_grant" and result["error_codes"] == [50173]
    assert "revoked" in result["error_description"]
    me = Graph(sandbox, tokens["access_token"]).get("me")
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_refresh_for_a_scope_never_consented_answers_consent_required(sandbox):
    seed_directory(sandbox)
    app = msal_app(sandbox)
    tokens = sign_in(sandbox, app, ["Mail.Read"], login_hint="alice@contoso.test")
    result = app.acquire_token_by_refresh_token(tokens["refresh_token"], ["Calendars.Read"])
    assert result["error"] == "invalid_grant" and result["suberror"] == "consent_required"
    assert result["error_codes"] == [65001]


def test_authorize_echoes_state_and_sends_client_info_in_the_redirect(sandbox):
    directory = seed_directory(sandbox)
    params = _code(sandbox, directory, client_info="1")
    assert params["state"] == "s1" and params["session_state"]
    assert (
        json.loads(base64.urlsafe_b64decode(params["client_info"] + "=="))["utid"]
        == directory.tenant_id
    )


def test_user_of_another_tenant_cannot_sign_in_through_this_tenant(sandbox):
    seed_directory(sandbox)
    other = seed_directory(sandbox, domain="fabrikam.test")
    code = _code(sandbox, other)["code"]
    response = _token_post(
        sandbox,
        "contoso.test",
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
    )
    assert response.json()["error"] == "invalid_grant"
