"""Writes: mailboxes for new connections, sync requests, mailbox settings."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.models import Organization
from integrations.connections.models import Connection
from integrations.mail.models import (
    Mailbox,
    MailboxKind,
    RunTrigger,
    SharedInbox,
    SyncRun,
    SyncState,
)
from integrations.mail.sync.lease import SyncAlreadyRunning, run_open

DEFAULT_SHARED_INBOX_NAME = "Team inbox"


def shared_inbox_default() -> SharedInbox:
    """The organization's default shared inbox, created on first use."""
    inbox = SharedInbox.objects.filter(is_default=True).first()
    if inbox is None:
        inbox = SharedInbox.objects.create(name=DEFAULT_SHARED_INBOX_NAME, is_default=True)
    return inbox


def mailbox_for_connection(*, connection: Connection) -> Mailbox | None:
    """The connection's own mailbox (created when it grants e-mail access), reconnected or new."""
    if "email" not in (connection.capabilities or []):
        return None
    mailbox = Mailbox.objects.filter(address=connection.email).first()
    if mailbox is None:
        mailbox = Mailbox.objects.create(
            connection=connection,
            owner=connection.user,
            provider=connection.provider,
            address=connection.email,
            display_name=connection.display_name,
            kind=MailboxKind.PRIMARY,
            shared_inbox=shared_inbox_default(),
            is_default=not Mailbox.objects.filter(is_default=True).exists(),
        )
        sync_request(mailbox=mailbox, trigger=RunTrigger.CONNECT)
        return mailbox
    mailbox.connection = connection
    mailbox.sync_state = SyncState.IDLE
    mailbox.last_error = ""
    mailbox.save(update_fields=["connection", "sync_state", "last_error", "updated_at"])
    return mailbox


def sync_request(
    *, mailbox: Mailbox, trigger: str, timeframe: str | None = None, full: bool = False
) -> SyncRun:
    """Open a run and queue it once this transaction commits; SyncAlreadyRunning if one runs.

    ``full`` (or a timeframe on a manual request) lists the whole window again instead of
    asking for changes since the cursors: the cursors restart with the run.
    """
    run = run_open(mailbox=mailbox, trigger=trigger, timeframe=timeframe)
    if full or timeframe:
        Mailbox.objects.filter(pk=mailbox.pk).update(cursors={})
        SyncRun.objects.filter(pk=run.pk).update(full_resync=True)
        run.full_resync = True
    from integrations.mail.tasks import mailbox_sync_task

    organization_id = mailbox.organization_id
    transaction.on_commit(lambda: mailbox_sync_task.delay(organization_id, run.pk))
    return run


def mailbox_update(*, mailbox: Mailbox, **fields: Any) -> Mailbox:
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.full_clean(exclude=["organization"])
    mailbox.save(update_fields=[*fields, "updated_at"])
    return mailbox


__all__ = ["Organization", "SyncAlreadyRunning", "mailbox_for_connection", "sync_request"]
