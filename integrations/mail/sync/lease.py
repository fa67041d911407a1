"""The per-mailbox lock: one RUNNING SyncRun per mailbox (a database constraint), held by the
worker whose lease token is on it and whose heartbeat is fresh."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integrations.mail.models import Mailbox, RunStatus, RunTrigger, SyncRun


class SyncAlreadyRunning(Exception):
    def __init__(self, run: SyncRun) -> None:
        super().__init__(f"mailbox {run.mailbox_id} is already syncing (run {run.pk})")
        self.run = run


def lease_seconds() -> int:
    return int(getattr(settings, "SYNC_LEASE_SECONDS", 90))


def run_open(*, mailbox: Mailbox, trigger: str, timeframe: str | None = None) -> SyncRun:
    """A new RUNNING run for the mailbox, or SyncAlreadyRunning (→ 409) if one exists."""
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                mailbox=mailbox,
                trigger=trigger,
                timeframe=timeframe or mailbox.sync_timeframe,
                status=RunStatus.RUNNING,
            )
    except IntegrityError as exc:
        running = SyncRun.objects.filter(mailbox=mailbox, status=RunStatus.RUNNING).first()
        if running is None:  # finished between the insert and this read: try once more
            return run_open(mailbox=mailbox, trigger=trigger, timeframe=timeframe)
        raise SyncAlreadyRunning(running) from exc


def run_claim(run_id: int) -> str | None:
    """Take the run's lease if nobody holds a live one; the token, or None."""
    token = str(uuid.uuid4())
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    claimed = SyncRun.objects.filter(
        Q(worker_heartbeat_at__isnull=True) | Q(worker_heartbeat_at__lt=stale),
        pk=run_id,
        status=RunStatus.RUNNING,
    ).update(lease_token=token, worker_heartbeat_at=timezone.now())
    return token if claimed else None


def run_heartbeat(run_id: int, token: str) -> bool:
    """Keep the lease; False when another worker took the run over (stop at once)."""
    return bool(
        SyncRun.objects.filter(pk=run_id, lease_token=token, status=RunStatus.RUNNING).update(
            worker_heartbeat_at=timezone.now()
        )
    )


def runs_stale() -> list[SyncRun]:
    """RUNNING runs whose worker stopped beating (killed, lost): to be resumed."""
    stale = timezone.now() - timedelta(seconds=lease_seconds())
    return list(
        SyncRun.objects.unscoped()  # called inside all_tenants() by the scheduler
        .filter(status=RunStatus.RUNNING)
        .filter(
            Q(worker_heartbeat_at__lt=stale)
            | Q(worker_heartbeat_at__isnull=True, started_at__lt=stale)
        )
    )


__all__ = [
    "RunTrigger",
    "SyncAlreadyRunning",
    "run_claim",
    "run_heartbeat",
    "run_open",
    "runs_stale",
]
