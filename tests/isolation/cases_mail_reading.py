"""Isolation cases of the reading routes (merged by test_api_isolation.py): A's thread, message
and attachment, all carrying the marker, are 404s for B. ``_attachment_message`` also fills the
``{attachmentId}`` placeholder with the id of A's attachment."""

from __future__ import annotations

from typing import Any

from integrations.mail.models import Attachment, Mailbox, Message
from tests.conftest import Tenant
from tests.isolation.cases import MARKER, Case
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

PREFIX = "/api/v1/integrations"
ATTACHMENT_PARAMS: dict[str, str] = {"attachmentId": "0"}  # set by _attachment_message


def _message(tenant: Tenant) -> Message:
    existing = Message.objects.filter(subject=f"{MARKER} reading").first()
    if existing is not None:
        return existing
    mailbox: Mailbox = MailboxFactory(
        connection=ConnectionFactory(user=tenant.owner, email=f"{MARKER}-reader@alpha.test")
    )
    message = mail_message(
        mailbox,
        sender=f"{MARKER}@acme.test",
        to=[mailbox.address],
        subject=f"{MARKER} reading",
        html_body=f"<p>{MARKER}</p>",
        text_body=MARKER,
    )
    # No bytes kept: B must be turned away before anything would be fetched.
    Attachment.objects.create(
        message=message, filename=f"{MARKER}.txt", content_type="text/plain", size=len(MARKER)
    )
    return message


def _thread(tenant: Tenant) -> Any:
    return _message(tenant).thread_id


def _message_id(tenant: Tenant) -> Any:
    return _message(tenant).pk


def _attachment_message(tenant: Tenant) -> Any:
    message = _message(tenant)
    ATTACHMENT_PARAMS["attachmentId"] = str(message.attachments.get().pk)
    return message.pk


CASES: dict[str, Case] = {
    f"{PREFIX}/email/thread/{{id}}": Case(_thread),
    f"{PREFIX}/email/messages/{{id}}": Case(_message_id),
    f"{PREFIX}/email/messages/{{id}}/attachments/{{attachmentId}}": Case(
        _attachment_message, params=ATTACHMENT_PARAMS
    ),
    f"{PREFIX}/email/messages/{{id}}/attachments/{{attachmentId}}/preview": Case(
        _attachment_message, params=ATTACHMENT_PARAMS
    ),
}
