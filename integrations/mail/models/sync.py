"""Sync runs with per-folder progress, and the messages that failed within them."""

from __future__ import annotations

from django.db import models

from crm.tenancy import TenantOwned
from integrations.mail.models.mailboxes import Mailbox, Timeframe


class RunStatus(models.TextChoices):
    RUNNING = "RUNNING", "Running"
    COMPLETED = "COMPLETED", "Completed"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS", "Completed with errors"
    FAILED = "FAILED", "Failed"
    CANCELLED = "CANCELLED", "Cancelled"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Scheduled poll"
    PUSH = "push", "Push notification"
    MANUAL = "manual", "Sync now"
    RETRY = "retry", "Retry of failed messages"
    CONNECT = "connect", "First sync"


class SyncRun(TenantOwned):
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="sync_runs")
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.RUNNING)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices)
    timeframe = models.CharField(max_length=3, choices=Timeframe.choices)
    full_resync = models.BooleanField(default=False)
    # Retry runs: the provider ids to fetch again (empty: every FAILED message of the mailbox).
    retry_ids = models.JSONField(default=list, blank=True)
    # {"inbox": {"status": "RUNNING", "total": 120, "processed": 40, "failed": 1}, ...}
    folders = models.JSONField(default=dict)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    deleted_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # The lease: whichever worker holds ``lease_token`` and keeps the heartbeat fresh runs it;
    # a run whose heartbeat went stale (worker killed) is taken over and resumed from its cursors.
    lease_token = models.CharField(max_length=36, blank=True)
    worker_heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The per-mailbox lock: at most one RUNNING run, enforced by the database.
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=models.Q(status="RUNNING"),
                name="one_running_sync_per_mailbox",
            )
        ]

    def __str__(self) -> str:
        return f"Sync {self.pk} of {self.mailbox_id} ({self.status})"


class FailureStatus(models.TextChoices):
    FAILED = "FAILED", "Failed"
    PERMANENTLY_FAILED = "PERMANENTLY_FAILED", "Permanently failed"
    RESOLVED = "RESOLVED", "Resolved"


class SyncFailure(TenantOwned):
    """A message a run could not fetch or store; retried up to three times."""

    MAX_ATTEMPTS = 3

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="failures")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="failures")
    provider_message_id = models.CharField(max_length=512)
    folder = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=20, choices=FailureStatus.choices, default=FailureStatus.FAILED
    )
    attempts = models.PositiveSmallIntegerField(default=1)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "provider_message_id"], name="unique_failure_per_message"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider_message_id} ({self.status})"
