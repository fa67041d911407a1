"""The push webhooks believe only genuine notifications.

Every notification here names organization A's mailbox and is sent by Charlie, who owns B:
without a token Google signed for our audience, or without the subscription's clientState, it
is a 403 in the error format, a WARNING naming why, and nothing changes.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from integrations.mail.models import Mailbox, SyncRun
from integrations.mail.push import push_webhook_url
from integrations.sandbox.server import SandboxServer
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.mail.push.support import (
    GOOGLE_WEBHOOK,
    MICROSOFT_WEBHOOK,
    Queued,
    reloaded,
)
from tests.sync.harness import google_mailbox, microsoft_mailbox

pytestmark = pytest.mark.django_db(transaction=True)

SERVICE_ACCOUNT = "gmail-push@liaison-sandbox.iam.gserviceaccount.com"
SUBSCRIPTION = "4f1b6c0e-8d2a-4c55-9a7e-2f9d3c1b0a11"
CLIENT_STATE = "the-subscriptions-secret"


@pytest.fixture
def charlie(org_b: Tenant) -> APIClient:
    client = APIClient()
    client.force_login(org_b.owner)
    return client


def snapshot(tenant: Tenant, mailbox: Mailbox) -> dict[str, Any]:
    fresh = reloaded(tenant, mailbox)
    with tenant.scope():
        runs = SyncRun.objects.filter(mailbox=mailbox).count()
    return {
        "runs": runs,
        "next_sync_at": fresh.next_sync_at,
        "push": (fresh.push_channel_id, fresh.push_secret, fresh.push_expires_at),
    }


# -- Gmail -----------------------------------------------------------------------------------


@pytest.fixture
def gmail_box(org_a: Tenant, providers: Providers, settings: Any) -> Mailbox:
    settings.GOOGLE_PUSH_SERVICE_ACCOUNT = SERVICE_ACCOUNT
    return google_mailbox(org_a, providers.sandbox, GOOGLE_USER)


def pubsub_body(address: str = GOOGLE_USER) -> dict[str, Any]:
    data = json.dumps({"emailAddress": address, "historyId": 4242}).encode()
    return {
        "message": {"data": base64.b64encode(data).decode(), "messageId": "1", "message_id": "1"},
        "subscription": "projects/liaison-sandbox/subscriptions/gmail-push",
    }


def claims(settings: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    genuine = {
        "iss": settings.GOOGLE_PUSH_ISSUER,
        "aud": push_webhook_url("google"),
        "email": SERVICE_ACCOUNT,
        "email_verified": True,
        "sub": "1234567890",
        "iat": now,
        "exp": now + 3600,
    }
    return {**genuine, **changes}


def google_signed(sandbox_server: SandboxServer, payload: dict[str, Any]) -> str:
    return sandbox_server.sandbox.google.signing_key.sign(payload)


def test_a_token_google_signed_for_our_audience_queues_a_push_sync(
    org_a: Tenant,
    gmail_box: Mailbox,
    charlie: APIClient,
    queued: Queued,
    settings: Any,
    sandbox_server: SandboxServer,
) -> None:
    token = google_signed(sandbox_server, claims(settings))
    response = charlie.post(
        GOOGLE_WEBHOOK, pubsub_body(), format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 204, response.content
    with org_a.scope():
        run = SyncRun.objects.get(mailbox=gmail_box)
    assert run.trigger == "push"
    assert queued.syncs == [(org_a.organization.pk, run.pk)]


def _foreign_key_token(sandbox_server: SandboxServer, settings: Any) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = sandbox_server.sandbox.google.signing_key.kid
    return jwt.encode(claims(settings), other, algorithm="RS256", headers={"kid": kid})


# forgery → (token maker, what the WARNING line says)
FORGERIES = {
    "signed with another key": (_foreign_key_token, "Signature verification failed"),
    "wrong audience": (
        lambda server, s: google_signed(server, claims(s, aud="https://elsewhere.test/push")),
        "Audience doesn't match",
    ),
    "expired": (
        lambda server, s: google_signed(
            server, claims(s, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
        ),
        "Signature has expired",
    ),
    "wrong issuer": (
        lambda server, s: google_signed(server, claims(s, iss="https://evil.test")),
        "Invalid issuer",
    ),
    "another service account": (
        lambda server, s: google_signed(
            server, claims(s, email="mallory@evil.iam.gserviceaccount.com")
        ),
        "token is not from the service account",
    ),
    "not a JWT": (lambda server, s: "not-a-jwt", "malformed token"),
    "unsigned": (
        lambda server, s: jwt.encode(claims(s), key=None, algorithm="none"),
        "token names no signing key",
    ),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_gmail_push_for_organization_a_changes_nothing(
    org_a: Tenant,
    gmail_box: Mailbox,
    charlie: APIClient,
    queued: Queued,
    settings: Any,
    sandbox_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    forgery: str,
) -> None:
    before = snapshot(org_a, gmail_box)
    make_token, reason = FORGERIES[forgery]
    token = make_token(sandbox_server, settings)
    with caplog.at_level(logging.WARNING, logger="integrations.mail.api.webhooks"):
        response = charlie.post(
            GOOGLE_WEBHOOK, pubsub_body(), format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
    assert response.status_code == 403
    assert response.json() == {
        "error": "The notification could not be authenticated.",
        "code": "Forbidden",
        "statusCode": 403,
        "details": {},
    }
    assert snapshot(org_a, gmail_box) == before
    assert queued.syncs == [] and queued.refreshes == []
    assert f"rejected Gmail push notification from 127.0.0.1: {reason}" in caplog.text


def test_a_gmail_push_without_a_token_is_rejected_and_logged(
    org_a: Tenant,
    gmail_box: Mailbox,
    charlie: APIClient,
    queued: Queued,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = snapshot(org_a, gmail_box)
    with caplog.at_level(logging.WARNING, logger="integrations.mail.api.webhooks"):
        response = charlie.post(GOOGLE_WEBHOOK, pubsub_body(), format="json")
    assert response.status_code == 403
    assert snapshot(org_a, gmail_box) == before
    assert queued.syncs == []
    assert "no bearer token" in caplog.text


def test_a_genuine_gmail_push_without_a_usable_message_is_acknowledged_and_ignored(
    org_a: Tenant,
    gmail_box: Mailbox,
    queued: Queued,
    settings: Any,
    sandbox_server: SandboxServer,
) -> None:
    token = google_signed(sandbox_server, claims(settings))
    body = {"message": {"data": base64.b64encode(b"not json").decode()}}
    response = APIClient().post(
        GOOGLE_WEBHOOK, body, format="json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 204  # Pub/Sub would otherwise resend it for days
    assert snapshot(org_a, gmail_box)["runs"] == 0


# -- Microsoft -------------------------------------------------------------------------------


@pytest.fixture
def graph_box(org_a: Tenant, providers: Providers) -> Mailbox:
    mailbox = microsoft_mailbox(
        org_a, providers.sandbox, MICROSOFT_USER, providers.microsoft_tenant_id
    )
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(
            push_channel_id=SUBSCRIPTION, push_secret=CLIENT_STATE
        )
    return reloaded(org_a, mailbox)


def graph_item(**changes: Any) -> dict[str, Any]:
    item = {
        "subscriptionId": SUBSCRIPTION,
        "changeType": "created",
        "resource": "Users/oid/Messages/AAMk",
        "clientState": CLIENT_STATE,
        "tenantId": "contoso",
    }
    return {k: v for k, v in {**item, **changes}.items() if v is not None}


def test_the_validation_handshake_echoes_the_token_as_plain_text(charlie: APIClient) -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    response = charlie.post(
        f"{MICROSOFT_WEBHOOK}?{urlencode({'validationToken': token})}",
        b"",
        content_type="text/plain",
        HTTP_ACCEPT="text/plain",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == token


def test_a_graph_notification_with_its_client_state_queues_a_push_sync(
    org_a: Tenant, graph_box: Mailbox, charlie: APIClient, queued: Queued
) -> None:
    response = charlie.post(MICROSOFT_WEBHOOK, {"value": [graph_item()]}, format="json")
    assert response.status_code == 202
    with org_a.scope():
        run = SyncRun.objects.get(mailbox=graph_box)
    assert run.trigger == "push"
    assert queued.syncs == [(org_a.organization.pk, run.pk)]


GRAPH_FORGERIES = {
    "wrong clientState": {"value": [graph_item(clientState="guessed")]},
    "no clientState": {"value": [graph_item(clientState=None)]},
    "unknown subscription": {"value": [graph_item(subscriptionId="0000-unknown")]},
    "not a notification": {"hello": "world"},
}


@pytest.mark.parametrize("forgery", sorted(GRAPH_FORGERIES))
def test_a_forged_graph_notification_for_organization_a_changes_nothing(
    org_a: Tenant,
    graph_box: Mailbox,
    charlie: APIClient,
    queued: Queued,
    caplog: pytest.LogCaptureFixture,
    forgery: str,
) -> None:
    before = snapshot(org_a, graph_box)
    with caplog.at_level(logging.WARNING):
        response = charlie.post(MICROSOFT_WEBHOOK, GRAPH_FORGERIES[forgery], format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "Forbidden"
    assert snapshot(org_a, graph_box) == before
    assert queued.syncs == [] and queued.refreshes == []
    assert "rejected Graph push" in caplog.text


def test_a_batch_acts_only_on_its_genuine_items(
    org_a: Tenant,
    graph_box: Mailbox,
    charlie: APIClient,
    queued: Queued,
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = {"value": [graph_item(clientState="guessed"), graph_item(), graph_item()]}
    with caplog.at_level(logging.WARNING, logger="integrations.mail.push"):
        response = charlie.post(MICROSOFT_WEBHOOK, batch, format="json")
    assert response.status_code == 202
    assert len(queued.syncs) == 1  # one mailbox, one run, however many items name it
    assert "wrong clientState" in caplog.text


# lifecycle event → (the refresh task's ``recreate``, syncs queued: changes may have been missed)
LIFECYCLE = {
    "reauthorizationRequired": (False, 0),
    "subscriptionRemoved": (True, 1),
    "missed": (None, 1),
}


@pytest.mark.parametrize("event", sorted(LIFECYCLE))
def test_lifecycle_events_renew_or_recreate_the_subscription_in_a_task(
    org_a: Tenant, graph_box: Mailbox, charlie: APIClient, queued: Queued, event: str
) -> None:
    recreate, syncs = LIFECYCLE[event]
    item = graph_item(lifecycleEvent=event, changeType=None)
    response = charlie.post(MICROSOFT_WEBHOOK, {"value": [item]}, format="json")
    assert response.status_code == 202
    expected = [] if recreate is None else [(org_a.organization.pk, graph_box.pk, recreate)]
    assert queued.refreshes == expected
    assert len(queued.syncs) == syncs
