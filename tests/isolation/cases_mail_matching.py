"""Isolation cases of e-mail matching and the blocklist (merged by test_api_isolation.py).

- ``POST /email/match`` names A's contact in its body: Charlie must get a 404, and no rule may
  appear in A. The body is filled with the id of the contact ``_match_target`` creates.
- The blocklist list never shows A's entries; deleting A's entry by id is a 404. Charlie's own
  ``POST`` blocks alpha.test in B, which must purge nothing of A's mail (A's message carries the
  marker and is checked in ``tests/mail/test_blocklist.py`` as well).
"""

from __future__ import annotations

from typing import Any

from integrations.mail.models import BlocklistEntry
from tests.conftest import Tenant
from tests.factories import ContactEmailFactory, ContactFactory
from tests.isolation.cases import MARKER, Case
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

MATCH_BODY: dict[str, Any] = {
    "emailAddress": f"{MARKER}@alpha.test",
    "entityType": "contact",
    "entityId": 0,  # set by _match_target
}


def _match_target(tenant: Tenant) -> Any:
    contact = ContactFactory(first_name="Matched", last_name=MARKER)
    ContactEmailFactory(contact=contact, email=f"{MARKER}-match@alpha.test")
    mailbox = MailboxFactory(
        connection=ConnectionFactory(user=tenant.member, email=f"{MARKER}-box@alpha.test")
    )
    mail_message(mailbox, sender=f"{MARKER}@alpha.test", to=["x@beta.test"], subject=MARKER)
    MATCH_BODY["entityId"] = contact.pk
    return contact.pk


def _blocklist_entry(tenant: Tenant) -> Any:
    return BlocklistEntry.objects.create(value=f"@{MARKER}.test").pk


CASES: dict[str, Case] = {
    "/api/v1/integrations/email/match": Case(_match_target, body=MATCH_BODY),
    "/api/v1/integrations/email/blocklist": Case(body={"value": "@alpha.test"}),
    "/api/v1/integrations/email/blocklist/{id}": Case(_blocklist_entry),
}
