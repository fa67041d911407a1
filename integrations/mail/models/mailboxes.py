"""Mailboxes (one provider mailbox synced into Liaison), their folders, and shared inboxes."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from crm.tenancy import TenantOwned


class SharedInbox(TenantOwned):
    """A team inbox that mailboxes and conversations belong to; one default per organization."""

    name = models.CharField(max_length=120)
    color = models.CharField(
        max_length=7,
        default="#4F46E5",
        validators=[RegexValidator(r"^#[0-9A-Fa-f]{6}\Z", "Enter a colour as #RRGGBB.")],
    )
    description = models.CharField(max_length=300, blank=True)
    is_default = models.BooleanField(default=False)
    assignees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="SharedInboxAssignee", related_name="+", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default=True),
                name="one_default_shared_inbox",
            ),
            models.UniqueConstraint(
                models.F("organization"),
                Lower("name"),
                name="unique_shared_inbox_name",
                violation_error_message="A shared inbox with this name exists already.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SharedInboxAssignee(TenantOwned):
    shared_inbox = models.ForeignKey(SharedInbox, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shared_inbox", "user"], name="unique_inbox_assignee")
        ]


class Timeframe(models.TextChoices):
    FIVE_MINUTES = "5m", "Last 5 minutes"
    ONE_WEEK = "1w", "Last week"
    TWO_WEEKS = "2w", "Last 2 weeks"
    ONE_MONTH = "1m", "Last month"
    ALL = "all", "Everything"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private (owner and admins)"
    METADATA = "metadata", "Metadata only (who and when)"
    SUBJECT = "subject", "Subject lines"
    FULL = "full", "Full content"


class ContactCreation(models.TextChoices):
    NONE = "none", "Never"
    SENT = "sent", "People I e-mail"
    SENT_AND_RECEIVED = "sent_and_received", "People I e-mail or who e-mail me"


class MailboxKind(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SHARED = "shared", "Shared"


class SyncState(models.TextChoices):
    IDLE = "idle", "Idle"
    RUNNING = "running", "Syncing"
    THROTTLED = "throttled", "Throttled"
    ERROR = "error", "Error"
    PAUSED = "paused", "Paused"


class Mailbox(TenantOwned):
    """One provider mailbox (a person's own, or a shared one) synced through a connection."""

    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="mailboxes"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailboxes"
    )
    provider = models.CharField(max_length=20)
    address = models.CharField(max_length=254)
    display_name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=10, choices=MailboxKind.choices, default=MailboxKind.PRIMARY)
    shared_inbox = models.ForeignKey(
        SharedInbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="mailboxes"
    )
    read_enabled = models.BooleanField(default=True)
    send_enabled = models.BooleanField(default=True)
    sync_enabled = models.BooleanField(default=True)
    sync_timeframe = models.CharField(
        max_length=3, choices=Timeframe.choices, default=Timeframe.ONE_MONTH
    )
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.FULL
    )
    contact_creation = models.CharField(
        max_length=20, choices=ContactCreation.choices, default=ContactCreation.SENT
    )
    exclude_internal = models.BooleanField(
        default=True, help_text="Skip mail only between the organization's own addresses."
    )
    is_default = models.BooleanField(default=False)
    # Provider cursors keyed by folder ("" for mailbox-wide ones such as Gmail's historyId).
    cursors = models.JSONField(default=dict, blank=True)
    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.IDLE)
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    throttled_until = models.DateTimeField(null=True, blank=True)
    backoff_attempts = models.PositiveSmallIntegerField(default=0)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    push_channel_id = models.CharField(max_length=255, blank=True, db_index=True)
    push_secret = models.CharField(max_length=128, blank=True)
    push_expires_at = models.DateTimeField(null=True, blank=True)
    # One worker at a time writes local read/star/archive changes through to the provider.
    flags_lease_token = models.CharField(max_length=32, blank=True)
    flags_lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "address"], name="unique_mailbox_address"
            )
        ]

    def __str__(self) -> str:
        return self.address


class FolderRole(models.TextChoices):
    INBOX = "inbox", "Inbox"
    SENT = "sent", "Sent"
    ARCHIVE = "archive", "Archive"
    DRAFTS = "drafts", "Drafts"
    SPAM = "spam", "Spam"
    TRASH = "trash", "Trash"
    OTHER = "other", "Other"


class MailFolder(TenantOwned):
    """A Gmail label or a Graph mail folder of one mailbox."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    provider_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    role = models.CharField(max_length=10, choices=FolderRole.choices, default=FolderRole.OTHER)

    class Meta:
        ordering = ["mailbox", "name"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "provider_id"], name="unique_mailbox_folder")
        ]

    def __str__(self) -> str:
        return self.name
