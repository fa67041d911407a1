"""Content fetched from Gmail / Microsoft 365 on first use and kept: the sandbox's request log
shows one provider call for the first read and none for the second."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from crm.tenancy import tenant_context
from integrations.connections.models import Connection, ConnectionStatus
from integrations.mail.models import Attachment, Message
from tests.conftest import Tenant, token_client
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.mail.reading.support import (
    PDF,
    PDF_NAME,
    SPACER,
    SPACER_CID,
    Conversation,
    provider_calls,
    synced_conversation,
)

pytestmark = pytest.mark.django_db(transaction=True)

API = "/api/v1/integrations"


@pytest.fixture(params=["google", "microsoft"])
def conversation(request: Any, org_a: Tenant, providers: Providers) -> Conversation:
    return synced_conversation(request.param, org_a, providers)


def _forget_body(org: Tenant, message: Message) -> None:
    """As a sync that stores headers only would leave it."""
    with org.scope():
        Message.objects.filter(pk=message.pk).update(text_body="", html_body="", body_fetched=False)


def test_a_body_not_stored_yet_is_fetched_once_and_then_served_locally(
    org_a: Tenant, providers: Providers, conversation: Conversation
) -> None:
    _forget_body(org_a, conversation.reply)
    client = token_client(org_a)
    since = providers.sandbox.last_request_seq()

    first = client.get(f"{API}/email/messages/{conversation.reply.pk}")
    after_first = providers.sandbox.last_request_seq()
    second = client.get(f"{API}/email/messages/{conversation.reply.pk}")

    assert first.status_code == 200, first.content
    assert "<b>we accept</b>" in first.json()["htmlBody"]
    assert len(provider_calls(providers, since)) == 1
    assert provider_calls(providers, after_first) == []
    assert second.json()["htmlBody"] == first.json()["htmlBody"]
    with org_a.scope():
        stored = Message.objects.get(pk=conversation.reply.pk)
    assert stored.body_fetched and "we accept" in stored.html_body


def test_an_attachment_is_downloaded_once_then_streamed_from_storage(
    org_a: Tenant, providers: Providers, conversation: Conversation
) -> None:
    with org_a.scope():
        pdf = Attachment.objects.get(message=conversation.first, is_inline=False)
    url = f"{API}/email/messages/{conversation.first.pk}/attachments/{pdf.pk}"
    client = token_client(org_a)
    since = providers.sandbox.last_request_seq()

    first = client.get(url)
    after_first = providers.sandbox.last_request_seq()
    second = client.get(url)

    assert first.status_code == 200, first.content
    assert b"".join(first.streaming_content) == PDF == b"".join(second.streaming_content)
    assert len(provider_calls(providers, since)) == 1
    assert provider_calls(providers, after_first) == []
    with org_a.scope():
        assert Attachment.objects.get(pk=pdf.pk).content.name.startswith("attachments/")


def test_an_attachment_downloads_with_a_safe_name_type_and_headers(
    org_a: Tenant, conversation: Conversation
) -> None:
    with org_a.scope():
        pdf = Attachment.objects.get(message=conversation.first, is_inline=False)

    response = token_client(org_a).get(
        f"{API}/email/messages/{conversation.first.pk}/attachments/{pdf.pk}"
    )

    disposition = response["Content-Disposition"]
    assert response["Content-Type"] == "application/pdf"
    assert disposition.startswith('attachment; filename="')
    # The right-to-left override that disguised the name is gone; the rest is kept.
    safe_name = PDF_NAME.replace("\u202e", "")
    assert f"filename*=UTF-8''{quote(safe_name, safe='')}" in disposition
    assert "%E2%80%AE" not in disposition and "\u202e" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_a_small_part_sent_inside_the_message_is_found_by_fetching_the_message_again(
    org_a: Tenant, providers: Providers, conversation: Conversation
) -> None:
    with org_a.scope():
        spacer = Attachment.objects.get(message=conversation.first, content_id=SPACER_CID)
    url = f"{API}/email/messages/{conversation.first.pk}/attachments/{spacer.pk}"
    since = providers.sandbox.last_request_seq()

    response = token_client(org_a).get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SPACER
    assert len(provider_calls(providers, since)) == 1


def test_a_revoked_grant_answers_409_and_the_connection_stays_marked_expired(
    org_a: Tenant, providers: Providers, conversation: Conversation
) -> None:
    _forget_body(org_a, conversation.reply)
    mailbox = conversation.mailbox
    if mailbox.provider == "google":
        providers.sandbox.google.revoke_grants(GOOGLE_USER)
    else:
        providers.sandbox.microsoft.revoke_grants(MICROSOFT_USER)
    with tenant_context(org_a.organization):
        # The stored token is past its time: the next call must refresh, and cannot.
        Connection.objects.filter(pk=mailbox.connection_id).update(token_expires_at=None)

    response = token_client(org_a).get(f"{API}/email/messages/{conversation.reply.pk}")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "ConnectionExpired"
    with tenant_context(org_a.organization):
        connection = Connection.objects.get(pk=mailbox.connection_id)
    assert connection.status == ConnectionStatus.EXPIRED
