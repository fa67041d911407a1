"""Isolation cases of read / star / archive (merged by test_api_isolation.py).

A's message (subject and body carry the marker) is a 404 for Charlie on each toggle. The bulk
``PATCH /email/messages`` names A's message id in its body (filled in by ``_message``): Charlie
gets a 400 naming an id he cannot see, never A's data; tests/mail/flags checks nothing changed.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.isolation.cases import MARKER, Case
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

PREFIX = "/api/v1/integrations"
BULK_BODY: dict[str, Any] = {"ids": [0], "read": True, "starred": True, "archived": True}


def _message(tenant: Tenant) -> Any:
    from integrations.mail.models import Message

    existing = Message.objects.filter(subject=f"{MARKER} flags").first()
    if existing is not None:
        return existing.pk
    mailbox = MailboxFactory(
        connection=ConnectionFactory(user=tenant.owner, email=f"{MARKER}-flags@alpha.test")
    )
    message = mail_message(
        mailbox, sender=f"{MARKER}@customer.test", subject=f"{MARKER} flags", snippet=MARKER
    )
    BULK_BODY["ids"] = [message.pk]
    return message.pk


MESSAGE = Case(_message, body={})
CASES: dict[str, Case] = {
    f"{PREFIX}/email/{{id}}/read": MESSAGE,
    f"{PREFIX}/email/{{id}}/star": MESSAGE,
    f"{PREFIX}/email/{{id}}/archive": MESSAGE,
    f"{PREFIX}/email/messages": Case(body=BULK_BODY),
}
