"""What the write-through tests share: sandbox mailboxes synced once, acting as a person, the
writer, and the provider's view of one message."""

from __future__ import annotations

from typing import Any

from django.db.models import Count

from crm.models import User
from crm.tenancy import tenant_atomic, tenant_context
from integrations.mail.flags import Flag, MessageState, set_flag
from integrations.mail.flags_write import FlagWriteOutcome, mailbox_flags_write
from integrations.mail.models import Mailbox, MessageCopy, SyncRun
from integrations.mail.sync.engine import mailbox_sync
from integrations.mail.sync.lease import run_open
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.sync.harness import (
    CopyState,
    expected_google,
    expected_microsoft,
    google_mailbox,
    microsoft_mailbox,
)

PROVIDERS = ["google", "microsoft"]


def make_mailbox(provider: str, org: Tenant, providers: Providers, count: int = 12) -> Mailbox:
    sandbox = providers.sandbox
    fields: dict[str, Any] = {"sync_timeframe": "all", "exclude_internal": False}
    if provider == "google":
        sandbox.google.fill(GOOGLE_USER, seed=11, count=count)
        return google_mailbox(org, sandbox, GOOGLE_USER, **fields)
    sandbox.microsoft.fill(MICROSOFT_USER, seed=11, count=count)
    return microsoft_mailbox(org, sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields)


def sync(org: Tenant, mailbox: Mailbox) -> SyncRun:
    with tenant_context(org.organization):
        run = run_open(mailbox=mailbox, trigger="manual")
        result = mailbox_sync(run_id=run.pk)
    assert result is not None and result.status == "COMPLETED", result and result.error
    return result


def remote(provider: str, providers: Providers) -> dict[str, CopyState]:
    """The provider's state of every synced message, by provider id."""
    if provider == "google":
        return expected_google(providers.sandbox, GOOGLE_USER)
    return expected_microsoft(providers.sandbox, MICROSOFT_USER)


def inbox_copy(org: Tenant, mailbox: Mailbox, **flags: bool) -> MessageCopy:
    """A stored copy in the inbox with the given flags (e.g. is_read=False), of a message
    held once (the generator also makes duplicates, which are acted on together)."""
    with org.scope():
        copy = (
            MessageCopy.objects.filter(mailbox=mailbox, in_inbox=True, **flags)
            .annotate(held=Count("message__copies"))
            .filter(held=1)
            .order_by("pk")
            .first()
        )
    assert copy is not None, f"no inbox copy with {flags} in the generated mailbox"
    return copy


def synced_copy(provider: str, org: Tenant, providers: Providers) -> tuple[Mailbox, MessageCopy]:
    """A sandbox mailbox synced once, and an unread, unstarred copy in its inbox."""
    mailbox = make_mailbox(provider, org, providers)
    sync(org, mailbox)
    return mailbox, inbox_copy(org, mailbox, is_read=False, is_starred=False)


def reloaded(org: Tenant, copy: MessageCopy) -> MessageCopy:
    with org.scope():
        return MessageCopy.objects.get(pk=copy.pk)


def act(
    org: Tenant, user: User, message_id: int, flag: Flag, value: bool | None = None
) -> MessageState:
    with tenant_atomic(org.organization):
        (state,) = set_flag(user=user, message_ids=[message_id], flag=flag, value=value)
    return state


def write(org: Tenant, mailbox: Mailbox) -> FlagWriteOutcome | None:
    with tenant_context(org.organization):
        return mailbox_flags_write(mailbox_id=mailbox.pk)
