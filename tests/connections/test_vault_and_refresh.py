"""Tokens at rest, key rotation, concurrent and proactive refresh, passing failures."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db
from django.test import Client
from django.utils import timezone

from crm.tenancy import all_tenants, tenant_context
from integrations.connections import services
from integrations.connections.models import Connection, ConnectionStatus
from integrations.connections.tasks import connections_refresh_due
from integrations.providers.base import ProviderUnavailable
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers, connect

CASES = [("google", GOOGLE_USER), ("microsoft", MICROSOFT_USER)]


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _connect_both(org: Tenant, providers: Providers) -> list[Connection]:
    client = _client(org.owner)
    for provider, account in CASES:
        assert connect(client, providers, provider, account).status_code == 302
    with org.scope():
        return list(Connection.objects.order_by("provider"))


def _token_works(providers: Providers, connection: Connection) -> bool:
    if connection.provider == "google":
        url = f"{providers.sandbox.google_base_url}/oauth2/v3/userinfo"
    else:
        url = f"{providers.sandbox.microsoft_graph_url}/me"
    response = requests.get(
        url,
        headers={"Authorization": f"Bearer {connection.access_token}"},
        verify=providers.sandbox.ca_bundle,
        timeout=30,
    )
    return response.status_code == 200


def _all_rows_as_text() -> str:
    chunks = []
    with all_tenants(), db.cursor() as cursor:
        for table in db.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.mark.django_db
def test_the_database_holds_no_plaintext_token(org_a: Tenant, providers: Providers) -> None:
    connections = _connect_both(org_a, providers)
    dump = _all_rows_as_text()
    for connection in connections:
        for secret in (connection.access_token, connection.refresh_token):
            assert secret and secret not in dump


@pytest.mark.django_db
def test_tokens_never_appear_in_api_responses_admin_pages_or_logs(
    org_a: Tenant, providers: Providers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    connections = _connect_both(org_a, providers)
    client = _client(org_a.owner)
    pages = [client.get("/api/v1/integrations/connections").content]
    for connection in connections:
        pages.append(client.get(f"/api/v1/integrations/connections/{connection.pk}/status").content)
        pages.append(
            client.post(f"/api/v1/integrations/connections/{connection.pk}/refresh").content
        )
    pages.append(client.get("/settings/connections/").content)
    from tests.factories import UserFactory

    admin = _client(UserFactory(is_staff=True, is_superuser=True))
    pages.append(admin.get("/admin/connections/connection/").content)
    for connection in connections:
        pages.append(admin.get(f"/admin/connections/connection/{connection.pk}/change/").content)
    with org_a.scope():
        current = list(Connection.objects.all())
    text = b"\n".join(pages).decode() + caplog.text
    for connection in [*connections, *current]:
        for secret in (connection.access_token, connection.refresh_token):
            assert secret not in text


@pytest.mark.django_db
def test_key_rotation_keeps_every_connection_usable(
    org_a: Tenant, providers: Providers, settings: Any
) -> None:
    connections = _connect_both(org_a, providers)
    secrets = {c.pk: (c.access_token, c.refresh_token) for c in connections}
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old_key]
    with org_a.scope():
        for connection in connections:
            access, refresh = secrets[connection.pk]
            connection.store_tokens(access_token=access, refresh_token=refresh)
            connection.save()
    settings.ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")
    settings.ENCRYPTION_KEYS = [new_key]
    with org_a.scope():
        for connection in Connection.objects.all():
            assert _token_works(providers, connection)
            refreshed = services.connection_refresh(connection=connection, force=True)
            assert _token_works(providers, refreshed)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("provider", "account"), CASES)
def test_two_concurrent_refreshes_leave_a_working_token(
    org_a: Tenant, providers: Providers, provider: str, account: str
) -> None:
    connect(_client(org_a.owner), providers, provider, account)
    with org_a.scope():
        connection = Connection.objects.get()
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def refresh() -> None:
        try:
            barrier.wait()
            with tenant_context(org_a.organization):
                services.connection_refresh(connection=connection, force=True)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with org_a.scope():
        final = Connection.objects.get()
    assert final.status == ConnectionStatus.CONNECTED
    assert _token_works(providers, final)
    with org_a.scope():
        again = services.connection_refresh(connection=final, force=True)
    assert again.status == ConnectionStatus.CONNECTED and _token_works(providers, again)


@pytest.mark.django_db
def test_tokens_about_to_expire_are_refreshed_by_the_beat_task(
    org_a: Tenant, providers: Providers, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from config.celery import app

    app.conf.task_always_eager = True
    try:
        connections = _connect_both(org_a, providers)
        with org_a.scope():
            Connection.objects.filter(pk=connections[0].pk).update(
                token_expires_at=timezone.now() + timedelta(minutes=2)
            )
        assert connections_refresh_due() == 1
        with org_a.scope():
            refreshed = Connection.objects.get(pk=connections[0].pk)
            untouched = Connection.objects.get(pk=connections[1].pk)
        assert refreshed.token_version == connections[0].token_version + 1
        assert refreshed.token_expires_at > timezone.now() + timedelta(minutes=30)
        assert untouched.token_version == connections[1].token_version
    finally:
        app.conf.task_always_eager = False


@pytest.mark.django_db
@pytest.mark.parametrize(("provider", "account"), CASES)
def test_provider_outages_leave_the_status_alone(
    org_a: Tenant, providers: Providers, provider: str, account: str
) -> None:
    client = _client(org_a.owner)
    connect(client, providers, provider, account)
    route = "google.oauth.token" if provider == "google" else "identity.token"
    providers.sandbox.add_fault(route=route, status=503)
    with org_a.scope():
        connection = Connection.objects.get()
    response = client.post(f"/api/v1/integrations/connections/{connection.pk}/refresh")
    assert response.status_code == 503
    assert response.json()["code"] == "ProviderUnavailable" and response["Retry-After"]
    with org_a.scope():
        connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED and connection.last_error
    providers.sandbox.clear_faults()
    with org_a.scope(), pytest.raises(ProviderUnavailable):
        providers.sandbox.add_fault(route=route, reset=True)
        services.connection_refresh(connection=connection, force=True)
