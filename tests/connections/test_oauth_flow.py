"""Connecting Google and Microsoft 365 end to end over HTTPS against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from integrations.connections.models import Connection, ConnectionStatus, OAuthState
from tests.conftest import Tenant
from tests.connections.conftest import (
    GOOGLE_USER,
    MICROSOFT_USER,
    Providers,
    connect,
    consent,
    follow_callback,
    start,
)

pytestmark = pytest.mark.django_db(transaction=False)

CASES = [("google", GOOGLE_USER), ("microsoft", MICROSOFT_USER)]


@pytest.fixture
def alice(org_a: Tenant) -> Client:
    client = Client()
    client.force_login(org_a.owner)
    return client


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_connect_stores_an_encrypted_connection_and_returns_to_settings(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    url = start(alice, provider, account)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    response = follow_callback(alice, consent(providers, url))
    assert response.status_code == 302 and response["Location"] == "/settings/connections/"
    with org_a.scope():
        connection = Connection.objects.get()
    assert (connection.provider, connection.email, connection.status) == (
        provider,
        account,
        "connected",
    )
    assert connection.user == org_a.owner
    assert connection.access_token and connection.refresh_token
    assert connection.access_token not in connection.access_token_encrypted
    assert connection.token_expires_at > timezone.now()
    if provider == "microsoft":
        assert connection.directory_tenant_id == providers.microsoft_tenant_id


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_reconnecting_the_same_account_updates_the_connection(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    connect(alice, providers, provider, account)
    with org_a.scope():
        first = Connection.objects.get()
        Connection.objects.filter(pk=first.pk).update(status=ConnectionStatus.EXPIRED)
    connect(alice, providers, provider, account)
    with org_a.scope():
        again = Connection.objects.get()
    assert again.pk == first.pk and again.status == ConnectionStatus.CONNECTED
    assert again.token_version > first.token_version


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_refresh_returns_a_new_expiry(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    connect(alice, providers, provider, account)
    with org_a.scope():
        connection = Connection.objects.get()
    old_token = connection.access_token
    response = alice.post(f"/api/v1/integrations/connections/{connection.pk}/refresh")
    assert response.status_code == 200, response.json()
    assert response.json()["message"] == "Token refreshed successfully"
    assert response.json()["expiresAt"]
    assert "token" not in str(response.json()["connection"]).lower().replace("is_token_valid", "")
    with org_a.scope():
        connection.refresh_from_db()
    assert connection.access_token != old_token


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_a_revoked_grant_marks_the_connection_expired_with_action_reconnect(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    connect(alice, providers, provider, account)
    getattr(providers.sandbox, provider).revoke_grants(account)
    with org_a.scope():
        connection = Connection.objects.get()
    response = alice.post(f"/api/v1/integrations/connections/{connection.pk}/refresh")
    assert response.status_code == 409
    assert response.json()["code"] == "ConnectionExpired"
    status = alice.get(f"/api/v1/integrations/connections/{connection.pk}/status").json()
    assert (status["status"], status["action"], status["action_label"]) == (
        "expired",
        "reconnect",
        "Reconnect",
    )
    assert status["last_error"]
    assert connect(alice, providers, provider, account).status_code == 302
    again = alice.get(f"/api/v1/integrations/connections/{connection.pk}/status").json()
    assert (again["status"], again["action"]) == ("connected", "none")


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_disconnect_revokes_the_grant_at_the_provider(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    connect(alice, providers, provider, account)
    with org_a.scope():
        connection = Connection.objects.get()
        refresh_token = connection.refresh_token
    response = alice.delete(f"/api/v1/integrations/oauth/{provider}?connectionId={connection.pk}")
    assert response.status_code == 200, response.json()
    assert response.json()["disconnected"] == [connection.pk]
    with org_a.scope():
        connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REVOKED and not connection.refresh_token_encrypted
    from integrations.providers.base import InvalidGrant
    from integrations.providers.registry import PROVIDERS

    with pytest.raises(InvalidGrant):
        PROVIDERS[provider].refresh(
            refresh_token=refresh_token,
            scopes=tuple(connection.granted_scopes),
            tenant=connection.directory_tenant_id or None,
        )


def test_disconnect_with_purge_deletes_the_connection(
    alice: Client, providers: Providers, org_a: Tenant
) -> None:
    connect(alice, providers, "google", GOOGLE_USER)
    response = alice.delete("/api/v1/integrations/oauth/google?purge=true")
    assert response.status_code == 200 and response.json()["purged"] is True
    with org_a.scope():
        assert not Connection.objects.exists()


def _state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def _callback_path(provider: str) -> str:
    return f"/api/v1/integrations/oauth/{provider}/callback"


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_a_tampered_state_is_refused_and_nothing_is_stored(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    callback = consent(providers, start(alice, provider, account))
    state = callback.fields["state"]
    response = follow_callback(alice, callback.with_state(state[:-2] + "xx"))
    assert response.status_code == 400
    assert b'data-code="InvalidState"' in response.content
    with org_a.scope():
        assert not Connection.objects.exists()


def test_a_replayed_state_is_refused(alice: Client, providers: Providers, org_a: Tenant) -> None:
    location = consent(providers, start(alice, "google", GOOGLE_USER))
    assert follow_callback(alice, location).status_code == 302
    replay = follow_callback(alice, location)
    assert replay.status_code == 400 and b"StateReplayed" in replay.content


def test_an_expired_state_is_refused(alice: Client, providers: Providers, org_a: Tenant) -> None:
    location = consent(providers, start(alice, "google", GOOGLE_USER))
    with org_a.scope():
        OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = follow_callback(alice, location)
    assert response.status_code == 400 and b"StateExpired" in response.content
    with org_a.scope():
        assert not Connection.objects.exists()


def test_a_state_finished_by_another_user_is_refused(
    alice: Client, providers: Providers, org_a: Tenant
) -> None:
    location = consent(providers, start(alice, "google", GOOGLE_USER))
    bob = Client()
    bob.force_login(org_a.member)
    response = follow_callback(bob, location)
    assert response.status_code == 400 and b"WrongUser" in response.content
    with org_a.scope():
        assert not Connection.objects.exists()


@pytest.mark.parametrize(("provider", "account"), CASES)
def test_consent_denied_at_the_provider_is_a_clear_error(
    alice: Client, providers: Providers, org_a: Tenant, provider: str, account: str
) -> None:
    url = start(alice, provider, account)
    state = _state_of(url)
    response = alice.get(
        _callback_path(provider),
        {"state": state, "error": "access_denied", "error_description": "The user declined"},
    )
    assert response.status_code == 400 and b"AccessDenied" in response.content
    assert b"nothing was connected" in response.content
    with org_a.scope():
        assert not Connection.objects.exists()


def test_providers_lists_both_with_their_capabilities(alice: Client, providers: Providers) -> None:
    body = alice.get("/api/v1/integrations/oauth/providers").json()
    assert [(p["name"], p["configured"]) for p in body] == [("google", True), ("microsoft", True)]
    assert all(p["capabilities"] == ["email", "calendar"] for p in body)


def test_authorize_without_json_redirects_to_the_provider(
    alice: Client, providers: Providers
) -> None:
    response = alice.get("/api/v1/integrations/oauth/google/authorize", {"type": "email"})
    assert response.status_code == 302
    assert response["Location"].startswith(providers.sandbox.google_base_url)
    assert "access_type=offline" in response["Location"]


def test_an_unknown_type_is_refused(alice: Client, providers: Providers) -> None:
    response = alice.get("/api/v1/integrations/oauth/google/authorize", {"type": "fax"})
    assert response.status_code == 400 and response.json()["code"] == "InvalidRequest"
