"""Reads: the mailboxes a person may see or manage, their latest runs and failed messages.

Who sees what: everyone sees their own mailboxes and the organization's shared mailboxes;
owners and admins may ask for every mailbox. Only a mailbox's owner or an admin changes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from crm.models import Membership, User
from integrations.connections.models import Connection
from integrations.mail.models import (
    FailureStatus,
    Mailbox,
    MailboxKind,
    RunStatus,
    SyncFailure,
    SyncRun,
)

RETRYABLE = FailureStatus.FAILED


def _failed_count() -> Coalesce:
    counted = (
        SyncFailure.objects.filter(mailbox=OuterRef("pk"), status=RETRYABLE)
        .order_by()
        .values("mailbox")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def mailboxes_visible_to(
    *, user: User, membership: Membership, everyone: bool = False
) -> QuerySet[Mailbox]:
    """The user's mailboxes and the shared ones; with ``everyone`` (admins only), all of them.

    Each row carries ``failed_count``, its messages waiting for a retry.
    """
    queryset = (
        Mailbox.objects.select_related("connection", "shared_inbox", "owner")
        .annotate(failed_count=_failed_count())
        .order_by("address", "pk")
    )
    if everyone and membership.is_admin:
        return queryset
    return queryset.filter(Q(owner=user) | Q(kind=MailboxKind.SHARED))


def mailboxes_owned_by(*, user: User) -> QuerySet[Mailbox]:
    """The mailboxes a person connected themselves (what "sync my mail" means)."""
    return Mailbox.objects.select_related("connection").filter(owner=user).order_by("pk")


def mailboxes_of_connection(*, connection: Connection) -> QuerySet[Mailbox]:
    return Mailbox.objects.select_related("connection").filter(connection=connection).order_by("pk")


def mailbox_for_user(*, user: User, membership: Membership, mailbox_id: int) -> Mailbox | None:
    """One mailbox the user may see, or None (someone else's private mailbox is not there)."""
    queryset = mailboxes_visible_to(user=user, membership=membership, everyone=True)
    return queryset.filter(pk=mailbox_id).first()


def mailbox_can_edit(*, user: User, membership: Membership, mailbox: Mailbox) -> bool:
    """Its owner and the organization's owners and admins may change or sync a mailbox."""
    return membership.is_admin or mailbox.owner_id == user.pk


def sync_run_latest(*, mailbox: Mailbox) -> SyncRun | None:
    return SyncRun.objects.filter(mailbox=mailbox).order_by("-started_at", "-pk").first()


def sync_runs_latest(*, mailboxes: Iterable[Mailbox]) -> dict[int, SyncRun]:
    """The latest run of each mailbox, in one query: {mailbox id: run}."""
    ids = [m.pk for m in mailboxes]
    if not ids:
        return {}
    latest = (
        SyncRun.objects.filter(mailbox=OuterRef("mailbox"))
        .order_by("-started_at", "-pk")
        .values("pk")[:1]
    )
    runs = SyncRun.objects.filter(mailbox_id__in=ids, pk=Subquery(latest))
    return {run.mailbox_id: run for run in runs}


@dataclass(frozen=True)
class FolderProgress:
    """One stream of a run: ``inbox``, ``sent_items``, ``archive``, ``mailbox`` (Gmail) or
    ``retry``, with its counters."""

    label: str
    status: str
    total: int
    processed: int
    failed: int

    @property
    def percent(self) -> int | None:
        """Share processed, or None while the total is unknown."""
        return min(100, round(100 * self.processed / self.total)) if self.total else None


def sync_run_progress(run: SyncRun) -> list[FolderProgress]:
    """The run's per-folder counters, in the order the engine started them."""
    return [
        FolderProgress(
            label=str(label),
            status=str(entry.get("status") or "PENDING"),
            total=int(entry.get("total") or 0),
            processed=int(entry.get("processed") or 0),
            failed=int(entry.get("failed") or 0),
        )
        for label, entry in (run.folders or {}).items()
        if isinstance(entry, dict)
    ]


def sync_run_of_mailbox(*, mailbox: Mailbox, run_id: int) -> SyncRun | None:
    return SyncRun.objects.filter(mailbox=mailbox, pk=run_id).first()


def sync_run_running(*, mailbox: Mailbox) -> SyncRun | None:
    return SyncRun.objects.filter(mailbox=mailbox, status=RunStatus.RUNNING).first()


def sync_failures_of(*, mailbox: Mailbox, status: str | None = None) -> QuerySet[SyncFailure]:
    """The mailbox's failed messages, newest first; without ``status``, the unresolved ones."""
    queryset = SyncFailure.objects.filter(mailbox=mailbox).order_by("-updated_at", "-pk")
    if status:
        return queryset.filter(status=status)
    return queryset.exclude(status=FailureStatus.RESOLVED)


def sync_failures_retryable(
    *, mailbox: Mailbox, run: SyncRun, provider_ids: Iterable[str] | None = None
) -> QuerySet[SyncFailure]:
    """FAILED messages (never PERMANENTLY_FAILED) a retry of ``run`` may fetch again.

    With ``provider_ids``: those of the mailbox's FAILED messages. Without: every message still
    FAILED that ``run`` or an earlier run recorded (a later run takes a failure over when the
    message fails again, so "the run's failures" alone would miss the ones before it).
    """
    queryset = SyncFailure.objects.filter(mailbox=mailbox, status=RETRYABLE).order_by("pk")
    if provider_ids is not None:
        return queryset.filter(provider_message_id__in=list(provider_ids))
    return queryset.filter(run_id__lte=run.pk)  # ids grow with time


def microsoft_mailboxes() -> QuerySet[Mailbox]:
    """Every Microsoft 365 mailbox of the organization (seed 003's "Outlook mappings")."""
    return (
        Mailbox.objects.select_related("connection")
        .filter(provider="microsoft")
        .order_by("address", "pk")
    )
