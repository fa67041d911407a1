"""Mail in the operator's admin: mailboxes and their sync state, runs and failures, the
blocklist and address rules, shared inboxes; threads and messages read-only (sync owns them).

Message bodies and provider cursors never show here, and changelists of the big tables skip the
full count so they open instantly at millions of rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crm.admin import TenantAdmin, TenantInline
from integrations.mail.models import (
    AddressRule,
    Attachment,
    BlocklistEntry,
    Mailbox,
    MailFolder,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    SharedInbox,
    SharedInboxAssignee,
    SyncFailure,
    SyncRun,
    ThreadLink,
    ThreadLinkSuppression,
    ThreadTask,
)


class ReadOnlyAdmin(TenantAdmin):
    """Records the sync writes: visible for support, never edited by hand."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MailFolderInline(TenantInline):
    model = MailFolder
    fields = ["provider_id", "name", "role"]
    readonly_fields = ["provider_id", "name"]


@admin.register(Mailbox)
class MailboxAdmin(TenantAdmin):
    list_display = [
        "address",
        "provider",
        "kind",
        "owner",
        "organization",
        "sync_enabled",
        "sync_state",
        "last_synced_at",
        "next_sync_at",
        "throttled_until",
    ]
    list_filter = ["provider", "kind", "sync_state", "sync_enabled", "visibility"]
    search_fields = ["address", "display_name", "owner__email"]
    raw_id_fields = ["connection", "owner", "shared_inbox"]
    exclude = ["cursors", "push_secret"]
    readonly_fields = [
        "provider",
        "address",
        "sync_state",
        "last_synced_at",
        "last_error",
        "throttled_until",
        "backoff_attempts",
        "push_channel_id",
        "push_expires_at",
    ]
    inlines = [MailFolderInline]


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "mailbox",
        "status",
        "trigger",
        "timeframe",
        "created_count",
        "updated_count",
        "deleted_count",
        "started_at",
        "completed_at",
    ]
    list_filter = ["status", "trigger", "full_resync"]
    search_fields = ["mailbox__address", "error"]
    exclude = ["lease_token"]
    list_select_related = ["mailbox", "organization"]


@admin.register(SyncFailure)
class SyncFailureAdmin(ReadOnlyAdmin):
    list_display = ["mailbox", "provider_message_id", "status", "attempts", "updated_at"]
    list_filter = ["status"]
    search_fields = ["provider_message_id", "mailbox__address", "last_error"]
    list_select_related = ["mailbox", "organization"]


@admin.register(BlocklistEntry)
class BlocklistEntryAdmin(TenantAdmin):
    list_display = ["value", "organization", "created_at"]
    search_fields = ["value"]


@admin.register(AddressRule)
class AddressRuleAdmin(TenantAdmin):
    list_display = ["address", "contact", "account", "deal", "organization"]
    search_fields = ["address"]
    raw_id_fields = ["contact", "account", "deal", "created_by"]


class SharedInboxAssigneeInline(TenantInline):
    model = SharedInboxAssignee
    raw_id_fields = ["user"]


@admin.register(SharedInbox)
class SharedInboxAdmin(TenantAdmin):
    list_display = ["name", "is_default", "color", "organization"]
    search_fields = ["name"]
    inlines = [SharedInboxAssigneeInline]


class ReadOnlyInline(TenantInline):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields


class ParticipantInline(ReadOnlyInline):
    model = Participant
    fields = ["role", "address", "name", "contact", "account"]


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["filename", "content_type", "size", "is_inline", "content_id"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["subject", "from_address", "direction", "sent_at", "organization"]
    list_filter = ["direction", "has_attachments"]
    search_fields = ["rfc_message_id", "from_address"]
    exclude = ["text_body", "html_body"]
    raw_id_fields = ["thread"]
    inlines = [ParticipantInline, AttachmentInline]


@admin.register(MessageCopy)
class MessageCopyAdmin(ReadOnlyAdmin):
    list_display = [
        "provider_message_id",
        "mailbox",
        "is_read",
        "is_starred",
        "in_inbox",
        "is_archived",
        "received_at",
    ]
    list_filter = ["is_read", "is_starred", "in_inbox", "is_archived"]
    search_fields = ["provider_message_id", "provider_thread_id"]
    raw_id_fields = ["message", "mailbox"]
    list_select_related = ["mailbox", "organization"]


class ThreadLinkInline(TenantInline):
    model = ThreadLink
    fields = ["contact", "account", "deal", "source", "created_by"]
    raw_id_fields = ["contact", "account", "deal", "created_by"]


@admin.register(MailThread)
class MailThreadAdmin(ReadOnlyAdmin):
    list_display = ["subject", "message_count", "last_message_at", "organization"]
    search_fields = ["subject"]
    inlines = [ThreadLinkInline]


@admin.register(ThreadLink)
class ThreadLinkAdmin(TenantAdmin):
    list_display = ["thread", "contact", "account", "deal", "source", "created_at"]
    list_filter = ["source"]
    raw_id_fields = ["thread", "contact", "account", "deal", "created_by"]
    show_full_result_count = False


@admin.register(ThreadLinkSuppression)
class ThreadLinkSuppressionAdmin(TenantAdmin):
    list_display = ["thread", "contact", "account", "deal", "created_at"]
    raw_id_fields = ["thread", "contact", "account", "deal", "created_by"]


@admin.register(ThreadTask)
class ThreadTaskAdmin(TenantAdmin):
    list_display = ["thread", "task", "created_at"]
    raw_id_fields = ["thread", "task", "created_by"]
