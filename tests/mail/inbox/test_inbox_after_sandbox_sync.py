"""Mail synced from the sandbox through the real drivers (Gmail and Microsoft 365): the inbox's
rows and counters equal a rebuild, the counts equal what the list shows, and both stay so when
the provider changes messages and the next sync brings the change in."""

from __future__ import annotations

from typing import Any

import pytest

from crm.tenancy import tenant_context
from integrations.mail.models import Mailbox, MessageCopy
from integrations.mail.sync.engine import mailbox_sync
from integrations.mail.sync.lease import run_open
from tests.conftest import Tenant, token_client
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.mail.inbox.support import PROVIDERS, kept_state, rebuilt_state
from tests.mail.inbox.test_folder_counts_api import counts, listed_totals
from tests.sync.harness import google_mailbox, microsoft_mailbox

pytestmark = pytest.mark.django_db(transaction=True)


def synced(org: Tenant, mailbox: Mailbox) -> None:
    with tenant_context(org.organization):
        run = run_open(mailbox=mailbox, trigger="manual")
        result = mailbox_sync(run_id=run.pk)
    assert result is not None and result.status == "COMPLETED", result and result.error


def mailbox(provider: str, org: Tenant, providers: Providers) -> Mailbox:
    fields: dict[str, Any] = {"sync_timeframe": "all", "exclude_internal": False}
    sandbox = providers.sandbox
    if provider == "google":
        sandbox.google.fill(GOOGLE_USER, seed=5, count=30)
        return google_mailbox(org, sandbox, GOOGLE_USER, **fields)
    sandbox.microsoft.fill(MICROSOFT_USER, seed=5, count=30)
    return microsoft_mailbox(org, sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields)


def assert_exact(org: Tenant) -> None:
    with tenant_context(org.organization):
        assert kept_state() == rebuilt_state(org.organization.pk)


def provider_reads_and_moves(provider: str, providers: Providers, copy: MessageCopy) -> None:
    """At the provider: the message is read and leaves the inbox."""
    if provider == "google":
        providers.sandbox.google.modify_labels(
            GOOGLE_USER, copy.provider_message_id, remove=["UNREAD", "INBOX"]
        )
    else:
        providers.sandbox.microsoft.update_message(
            MICROSOFT_USER, copy.provider_message_id, is_read=True, folder="archive"
        )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_synced_mail_is_listed_and_counted_exactly(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    box = mailbox(provider, org_a, providers)
    synced(org_a, box)
    assert_exact(org_a)
    alice = token_client(org_a, org_a.owner, scopes=("read",))
    before = counts(alice)
    assert before["all"]["total"] > 0
    assert before == listed_totals(alice)
    with tenant_context(org_a.organization):
        copy = MessageCopy.objects.filter(mailbox=box, in_inbox=True, is_read=False).first()
    assert copy is not None
    provider_reads_and_moves(provider, providers, copy)
    synced(org_a, box)
    assert_exact(org_a)
    assert counts(alice) == listed_totals(alice)
    assert counts(alice) != before
