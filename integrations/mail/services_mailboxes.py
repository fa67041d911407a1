"""Writes a person asks for on their mailboxes: settings, "sync now", retries of failed
messages, and connecting or disconnecting a Microsoft 365 shared mailbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from crm.models import User
from integrations.connections import services as connection_services
from integrations.connections.models import Connection, ConnectionStatus, Provider
from integrations.mail.models import (
    Mailbox,
    MailboxKind,
    MessageCopy,
    RunStatus,
    RunTrigger,
    SharedInbox,
    SyncFailure,
    SyncRun,
)
from integrations.mail.services import mailbox_update, shared_inbox_default, sync_request
from integrations.mail.sync.lease import SyncAlreadyRunning
from integrations.mail.sync.store import MailboxStore
from integrations.providers.base import InvalidGrant
from integrations.providers.mail import DriverContext
from integrations.providers.microsoft.graph_mail import MailboxAccessDenied, mailbox_access_check
from integrations.providers.mime import normalize_address

REMOVE_CHUNK = 500


class MailboxActionRefused(Exception):
    """What was asked cannot be done as things are; ``message`` is for the person."""

    def __init__(self, message: str, *, code: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}


# -- settings ------------------------------------------------------------------------------------


def mailbox_settings_update(*, mailbox: Mailbox, fields: dict[str, Any]) -> Mailbox:
    """Change a mailbox's policies; making it the default unsets the organization's other one."""
    with transaction.atomic():
        if fields.get("is_default"):
            Mailbox.objects.filter(is_default=True).exclude(pk=mailbox.pk).update(is_default=False)
        return mailbox_update(mailbox=mailbox, **fields) if fields else mailbox


# -- sync now ------------------------------------------------------------------------------------


def _ensure_syncable(mailbox: Mailbox) -> None:
    if not mailbox.sync_enabled:
        raise MailboxActionRefused(
            f"Syncing is turned off for {mailbox.address}; turn it on first.", code="SyncDisabled"
        )
    if mailbox.connection.status != ConnectionStatus.CONNECTED:
        raise MailboxActionRefused(
            f"The connection of {mailbox.address} has expired; reconnect it to sync.",
            code="ConnectionExpired",
            details={"action": "reconnect", "connection_id": mailbox.connection_id},
        )


def mailbox_sync_start(*, mailbox: Mailbox, timeframe: str | None = None) -> SyncRun:
    """A manual run: incremental, or the whole ``timeframe`` listed again when one is given.

    Raises MailboxActionRefused (sync off, connection expired) or SyncAlreadyRunning.
    """
    _ensure_syncable(mailbox)
    return sync_request(mailbox=mailbox, trigger=RunTrigger.MANUAL, timeframe=timeframe)


@dataclass
class SyncBatch:
    started: list[SyncRun] = field(default_factory=list)
    already_running: list[SyncRun] = field(default_factory=list)
    skipped: list[tuple[Mailbox, MailboxActionRefused]] = field(default_factory=list)


def mailboxes_sync_start(*, mailboxes: list[Mailbox]) -> SyncBatch:
    """ "Sync now" for several mailboxes: those turned off are left out, running ones reported."""
    batch = SyncBatch()
    for mailbox in mailboxes:
        if not mailbox.sync_enabled:
            continue
        try:
            batch.started.append(mailbox_sync_start(mailbox=mailbox))
        except SyncAlreadyRunning as exc:
            batch.already_running.append(exc.run)
        except MailboxActionRefused as exc:
            batch.skipped.append((mailbox, exc))
    return batch


def mailbox_sync_retry(
    *, mailbox: Mailbox, failures: list[SyncFailure]
) -> tuple[SyncRun, list[str]]:
    """A retry run fetching exactly ``failures`` again (FAILED ones; the caller chose them).

    Raises MailboxActionRefused (nothing to retry, connection expired) or SyncAlreadyRunning.
    """
    ids = [f.provider_message_id for f in failures]
    if not ids:
        raise MailboxActionRefused(
            "There are no failed messages to retry (permanently failed ones are not retried).",
            code="NothingToRetry",
        )
    _ensure_syncable(mailbox)
    with transaction.atomic():
        run = sync_request(mailbox=mailbox, trigger=RunTrigger.RETRY)
        # The task is queued on commit, so it starts with the ids already on the run.
        SyncRun.objects.filter(pk=run.pk).update(retry_ids=ids)
        run.retry_ids = ids
    return run, ids


# -- shared mailboxes ----------------------------------------------------------------------------


def _microsoft_connection(*, user: User, connection_id: int | None) -> Connection:
    connections = list(
        Connection.objects.filter(user=user, provider=Provider.MICROSOFT)
        .exclude(status=ConnectionStatus.REVOKED)
        .order_by("pk")
    )
    if connection_id is not None:
        chosen = next((c for c in connections if c.pk == connection_id), None)
        if chosen is None:
            raise MailboxActionRefused("Connection not found", code="ConnectionNotFound")
        return chosen
    if not connections:
        raise MailboxActionRefused(
            "Connect your Microsoft 365 account first (Settings → Connections).",
            code="MicrosoftNotConnected",
        )
    if len(connections) > 1:
        raise MailboxActionRefused(
            "You have several Microsoft 365 connections: say which one with connectionId.",
            code="ConnectionRequired",
            details={"connections": [{"id": c.pk, "email": c.email} for c in connections]},
        )
    return connections[0]


def _delegate_context(connection: Connection, address: str) -> DriverContext:
    """The delegate's grant aimed at someone else's mailbox (``/users/{address}``)."""
    connection_id = connection.pk

    def current() -> str:
        live = Connection.objects.get(pk=connection_id)
        return connection_services.connection_access_token(connection=live)

    def renew() -> str:
        live = Connection.objects.get(pk=connection_id)
        return connection_services.connection_refresh(connection=live, force=True).access_token

    return DriverContext(mailbox_address=address, token=current, renew=renew, shared=True)


def _expired(connection: Connection) -> MailboxActionRefused:
    return MailboxActionRefused(
        f"Your Microsoft 365 connection {connection.email} has expired; reconnect it first.",
        code="ConnectionExpired",
        details={"action": "reconnect", "connection_id": connection.pk},
    )


def shared_mailbox_connect(
    *,
    user: User,
    address: str,
    connection_id: int | None = None,
    shared_inbox: SharedInbox | None = None,
    timeframe: str | None = None,
) -> tuple[Mailbox, SyncRun | None]:
    """Add a Microsoft 365 shared mailbox the user is a delegate of, reached with their grant.

    Graph is asked first; without access nothing is stored. With ``timeframe`` a first sync of
    that period starts. Raises MailboxActionRefused; ProviderError when Graph cannot answer.
    """
    address = normalize_address(address)
    connection = _microsoft_connection(user=user, connection_id=connection_id)
    if connection.status != ConnectionStatus.CONNECTED:
        raise _expired(connection)
    existing = Mailbox.objects.filter(address=address).first()
    if existing is not None:
        raise MailboxActionRefused(
            f"{address} is already connected.",
            code="MailboxAlreadyConnected",
            details={"mailbox_id": existing.pk},
        )
    try:
        info = mailbox_access_check(_delegate_context(connection, address))
    except MailboxAccessDenied as exc:
        raise MailboxActionRefused(
            f"{connection.email} has no access to the mailbox {address} in Microsoft 365.",
            code="MailboxAccessDenied",
            details={"email": address, "connection_id": connection.pk},
        ) from exc
    except InvalidGrant as exc:
        connection_services.connection_mark_expired(connection=connection, message=exc.user_message)
        raise _expired(connection) from exc
    except connection_services.ConnectionUnusable as exc:
        raise _expired(connection) from exc
    mailbox = Mailbox.objects.create(
        connection=connection,
        owner=user,
        provider=Provider.MICROSOFT,
        address=address,
        display_name=info.display_name,
        kind=MailboxKind.SHARED,
        shared_inbox=shared_inbox or shared_inbox_default(),
        **({"sync_timeframe": timeframe} if timeframe else {}),
    )
    if not timeframe:
        return mailbox, None
    return mailbox, sync_request(mailbox=mailbox, trigger=RunTrigger.CONNECT, timeframe=timeframe)


def mailbox_disconnect(*, mailbox: Mailbox) -> str:
    """Stop syncing a shared mailbox and delete it with its copies (messages no other mailbox
    holds go too). A worker syncing it loses its lease and stops. Returns the address."""
    if mailbox.kind != MailboxKind.SHARED:
        raise MailboxActionRefused(
            "Only shared mailboxes are disconnected here; disconnect your own account in "
            "Settings → Connections.",
            code="NotASharedMailbox",
        )
    address = mailbox.address
    with transaction.atomic():
        SyncRun.objects.filter(mailbox=mailbox, status=RunStatus.RUNNING).update(
            status=RunStatus.CANCELLED,
            error="The mailbox was disconnected.",
            completed_at=timezone.now(),
        )
        # MailboxStore records failures against a run; removing copies never does.
        store = MailboxStore(mailbox, SyncRun(mailbox=mailbox, trigger=RunTrigger.MANUAL))
        copies = MessageCopy.objects.filter(mailbox=mailbox).order_by("pk")
        while chunk := list(copies.values_list("provider_message_id", flat=True)[:REMOVE_CHUNK]):
            store.remove(chunk)
        mailbox.delete()
    return address
