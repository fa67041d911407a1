"""Write local read/star/archive changes through to the provider, then stop holding them.

    mailbox_flags_write(mailbox_id=...)   the task's body: every pending change of a mailbox
    flags_pending(mailbox_id=...)         a snapshot of what is pending (a chunk of copies)
    flags_settle(pending, results)        forget what was written, or refused for good

One worker at a time writes a mailbox's changes (a lease on the mailbox row): two writers could
otherwise land an older value at the provider after a newer one. A change is forgotten only if
it is still the value that was written: a newer local change made meanwhile stays pending for
the next write. Temporary failures keep the change pending and raise ``FlagWriteIncomplete``
so the task retries with backoff; a dead grant marks the connection expired as sync does and
keeps the change until the person reconnects; refusals that a retry will not fix (the message
is gone) drop the change, and the next sync brings the provider's state.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from crm.tenancy import all_tenants, current_organization, tenant_atomic
from integrations.connections.models import ConnectionStatus
from integrations.connections.services import ConnectionUnusable, connection_mark_expired
from integrations.mail.models import Mailbox, MessageCopy, SyncState
from integrations.mail.sync.drivers import mailbox_driver
from integrations.providers.base import InvalidGrant
from integrations.providers.mail import FlagChange, FlagResult

logger = logging.getLogger(__name__)

LEASE_SECONDS = 300
CHUNK = 500
EXPIRED_MESSAGE = "The connection expired; reconnect it."


class FlagWriteBusy(Exception):
    """Another worker is writing this mailbox's changes: try again shortly."""


class FlagWriteIncomplete(Exception):
    """Some changes could not be written for now (throttling, outage): try again later."""


@dataclass(frozen=True)
class PendingCopy:
    pk: int
    provider_id: str
    flags: dict[str, bool]

    def change(self) -> FlagChange:
        return FlagChange(
            self.provider_id,
            is_read=self.flags.get("is_read"),
            is_starred=self.flags.get("is_starred"),
            archived=self.flags.get("is_archived"),
        )


@dataclass
class FlagWriteOutcome:
    written: int = 0
    dropped: int = 0
    failed: int = 0
    first_failure: str = ""


def mailbox_flags_write(*, mailbox_id: int) -> FlagWriteOutcome | None:
    """Write every pending change of the mailbox; None when there is nothing it can do now.

    Called inside the mailbox's organization context. Raises FlagWriteBusy, and
    FlagWriteIncomplete after writing what could be written.
    """
    organization = current_organization()
    with tenant_atomic(organization):
        mailbox = Mailbox.objects.select_related("connection").filter(pk=mailbox_id).first()
        if mailbox is None or mailbox.connection.status != ConnectionStatus.CONNECTED:
            return None
        token = _lease_claim(mailbox_id)
    try:
        return _write_all(mailbox, token)
    except (InvalidGrant, ConnectionUnusable) as exc:
        _connection_expired(mailbox, exc)
        return None
    finally:
        with tenant_atomic(organization):
            Mailbox.objects.filter(pk=mailbox_id, flags_lease_token=token).update(
                flags_lease_token="", flags_lease_until=None
            )


def _write_all(mailbox: Mailbox, token: str) -> FlagWriteOutcome:
    organization = current_organization()
    outcome = FlagWriteOutcome()
    driver = None
    after = 0
    while True:
        with tenant_atomic(organization):
            pending = flags_pending(mailbox_id=mailbox.pk, after=after)
        if not pending:
            break
        after = pending[-1].pk
        driver = driver or mailbox_driver(mailbox)
        results = driver.write_flags([p.change() for p in pending])
        with tenant_atomic(organization):
            flags_settle(pending, results)
            _lease_extend(mailbox.pk, token)
        for result in results:
            if result.written:
                outcome.written += 1
            elif result.permanent:
                outcome.dropped += 1
                logger.warning(
                    "mailbox %s: provider refused a flag change of %s (%s); dropped",
                    mailbox.pk,
                    result.provider_id,
                    result.reason,
                )
            else:
                outcome.failed += 1
                outcome.first_failure = outcome.first_failure or result.reason
    if outcome.failed:
        raise FlagWriteIncomplete(
            f"{outcome.failed} flag changes of mailbox {mailbox.pk} are still to write: "
            f"{outcome.first_failure}"
        )
    return outcome


def flags_pending(*, mailbox_id: int, after: int = 0, limit: int = CHUNK) -> list[PendingCopy]:
    """Up to ``limit`` copies of the mailbox with changes to write, after copy id ``after``."""
    rows = (
        MessageCopy.objects.filter(mailbox_id=mailbox_id, pk__gt=after)
        .exclude(pending_flags={})
        .order_by("pk")
        .values_list("pk", "provider_message_id", "pending_flags")[:limit]
    )
    return [PendingCopy(pk, provider_id, dict(flags)) for pk, provider_id, flags in rows]


def flags_settle(pending: Sequence[PendingCopy], results: Sequence[FlagResult]) -> int:
    """Forget the changes that were written (or refused for good) and are still the values
    written; returns how many copies changed. One locked read, one bulk update."""
    done = {
        copy.pk: copy.flags
        for copy, result in zip(pending, results, strict=True)
        if result.written or result.permanent
    }
    if not done:
        return 0
    copies = list(
        MessageCopy.objects.filter(pk__in=list(done))
        .only("pk", "pending_flags")
        .order_by("pk")
        .select_for_update()
    )
    settled = []
    for copy in copies:
        written = done[copy.pk]
        remaining = {
            key: value
            for key, value in (copy.pending_flags or {}).items()
            if key not in written or written[key] != value
        }
        if remaining != copy.pending_flags:
            copy.pending_flags = remaining
            settled.append(copy)
    MessageCopy.objects.bulk_update(settled, ["pending_flags"])
    return len(settled)


def _lease_claim(mailbox_id: int) -> str:
    """Take the mailbox's write lease, or raise FlagWriteBusy while another worker holds it."""
    token = secrets.token_hex(16)
    now = timezone.now()
    claimed = (
        Mailbox.objects.filter(pk=mailbox_id)
        .filter(Q(flags_lease_until__isnull=True) | Q(flags_lease_until__lte=now))
        .update(flags_lease_token=token, flags_lease_until=now + timedelta(seconds=LEASE_SECONDS))
    )
    if not claimed:
        raise FlagWriteBusy(f"mailbox {mailbox_id}: another worker is writing its flags")
    return token


def _lease_extend(mailbox_id: int, token: str) -> None:
    """Keep the lease while chunks keep being written (throttling can make one chunk slow)."""
    Mailbox.objects.filter(pk=mailbox_id, flags_lease_token=token).update(
        flags_lease_until=timezone.now() + timedelta(seconds=LEASE_SECONDS)
    )


def _connection_expired(mailbox: Mailbox, exc: Exception) -> None:
    """What sync does when the grant is gone: the connection expired, the mailbox in error."""
    with tenant_atomic(current_organization()):
        if isinstance(exc, InvalidGrant):
            connection_mark_expired(connection=mailbox.connection, message=exc.user_message)
        Mailbox.objects.filter(pk=mailbox.pk).update(
            sync_state=SyncState.ERROR, last_error=EXPIRED_MESSAGE
        )


def mailboxes_with_pending_flags() -> list[tuple[int, int]]:
    """(organization id, mailbox id) of every mailbox with changes to write that a worker
    could write now: connected, not throttled, nobody writing. Cross-tenant (beat)."""
    now = timezone.now()
    with all_tenants():
        return list(
            MessageCopy.objects.unscoped()
            .exclude(pending_flags={})
            .filter(mailbox__connection__status=ConnectionStatus.CONNECTED)
            .filter(
                Q(mailbox__flags_lease_until__isnull=True) | Q(mailbox__flags_lease_until__lte=now)
            )
            .filter(Q(mailbox__throttled_until__isnull=True) | Q(mailbox__throttled_until__lte=now))
            .order_by()
            .values_list("organization_id", "mailbox_id")
            .distinct()
        )


__all__ = [
    "FlagWriteBusy",
    "FlagWriteIncomplete",
    "FlagWriteOutcome",
    "PendingCopy",
    "flags_pending",
    "flags_settle",
    "mailbox_flags_write",
    "mailboxes_with_pending_flags",
]
