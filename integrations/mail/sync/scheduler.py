"""Beat's side of syncing: which mailboxes are due, resuming runs whose worker died, retrying
failed messages. Cross-tenant by nature, so every query here says ``unscoped()``."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from crm.tenancy import all_tenants, tenant_atomic
from integrations.connections.models import ConnectionStatus
from integrations.mail.models import (
    FailureStatus,
    Mailbox,
    RunStatus,
    RunTrigger,
    SyncFailure,
    SyncRun,
)
from integrations.mail.sync.lease import SyncAlreadyRunning, runs_stale

logger = logging.getLogger(__name__)


def poll_interval(mailbox: Mailbox) -> timedelta:
    """Five minutes by default; an hour while push notifications are active."""
    now = timezone.now()
    push = mailbox.push_expires_at is not None and mailbox.push_expires_at > now
    seconds = settings.MAIL_PUSH_POLL_SECONDS if push else settings.MAIL_POLL_SECONDS
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 - jitter


def mailboxes_poll_due() -> int:
    from integrations.mail.services import sync_request

    now = timezone.now()
    with all_tenants():
        due = list(
            Mailbox.objects.unscoped()
            .select_related("organization")
            .filter(
                sync_enabled=True, read_enabled=True, connection__status=ConnectionStatus.CONNECTED
            )
            .filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))
            .filter(Q(throttled_until__isnull=True) | Q(throttled_until__lte=now))
            .exclude(sync_runs__status=RunStatus.RUNNING)
        )
    queued = 0
    for mailbox in due:
        with tenant_atomic(mailbox.organization):
            try:
                sync_request(mailbox=mailbox, trigger=RunTrigger.SCHEDULE)
                queued += 1
            except SyncAlreadyRunning:
                pass
            Mailbox.objects.filter(pk=mailbox.pk).update(next_sync_at=now + poll_interval(mailbox))
    return queued


def sync_runs_recover() -> int:
    """Runs whose worker stopped beating are handed to a new task, which resumes them."""
    from integrations.mail.tasks import mailbox_sync_task

    with all_tenants():
        stale = runs_stale()
        for run in stale:
            logger.warning("resuming sync run %s of mailbox %s", run.pk, run.mailbox_id)
            mailbox_sync_task.delay(run.organization_id, run.pk)
    return len(stale)


def sync_failures_retry() -> int:
    """A retry run for every mailbox with messages still FAILED (not PERMANENTLY_FAILED)."""
    from integrations.mail.services import sync_request

    with all_tenants():
        mailboxes = list(
            Mailbox.objects.unscoped()
            .select_related("organization")
            .filter(
                failures__status=FailureStatus.FAILED,
                connection__status=ConnectionStatus.CONNECTED,
                sync_enabled=True,
            )
            .exclude(sync_runs__status=RunStatus.RUNNING)
            .distinct()
        )
    queued = 0
    for mailbox in mailboxes:
        with tenant_atomic(mailbox.organization):
            try:
                sync_request(mailbox=mailbox, trigger=RunTrigger.RETRY)
                queued += 1
            except SyncAlreadyRunning:
                pass
    return queued


__all__ = [
    "SyncFailure",
    "SyncRun",
    "mailboxes_poll_due",
    "sync_failures_retry",
    "sync_runs_recover",
]
