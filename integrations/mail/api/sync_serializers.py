"""Shapes of the mailbox and sync API (seed 003's ``MailboxSyncStatus`` and friends)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.base import StrictSerializerMixin, TenantPrimaryKeyField
from integrations.mail.models import (
    ContactCreation,
    FailureStatus,
    Mailbox,
    MailboxKind,
    RunStatus,
    SharedInbox,
    SyncFailure,
    SyncRun,
    SyncState,
    Timeframe,
    Visibility,
)
from integrations.mail.selectors import sync_run_progress

FOLDER_STATUSES = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "SKIPPED"]
# The engine's stream labels: Graph's three folders, Gmail's single stream, retry runs.
FOLDER_LABELS = ("inbox", "sent_items", "archive", "mailbox", "retry")


class ChoicesField(serializers.ChoiceField):
    """A choice field whose choices are fixed by its class."""

    fixed_choices: list[tuple[str, str]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.fixed_choices, **kwargs)


def _enum_field(component: str, choices: list[tuple[str, str]]) -> type[ChoicesField]:
    """A choice field whose enum is one named schema component (no enum-name collisions)."""

    @extend_schema_field({"type": "string", "enum": [v for v, _ in choices]}, component)
    class EnumField(ChoicesField):
        fixed_choices = choices

    EnumField.__name__ = EnumField.__qualname__ = f"{component}Field"
    return EnumField


RunStatusField = _enum_field("MailboxSyncStatuses", RunStatus.choices)
TimeframeField = _enum_field("MailboxSyncTimeframePeriods", Timeframe.choices)
FolderStatusField = _enum_field("MailboxSyncFolderStatuses", [(s, s) for s in FOLDER_STATUSES])
VisibilityField = _enum_field("MailboxVisibility", Visibility.choices)
ContactCreationField = _enum_field("MailboxContactCreation", ContactCreation.choices)
KindField = _enum_field("MailboxKindEnum", MailboxKind.choices)
SyncStateField = _enum_field("MailboxSyncState", SyncState.choices)
FailureStatusField = _enum_field("SyncFailureStatus", FailureStatus.choices)
RetryScopeField = _enum_field("MailboxSyncRetryScope", [("all_failed", "All failed")])
OutlookProviderField = _enum_field("OutlookProvider", [("outlook", "Microsoft 365 Outlook")])
SyncTypeField = _enum_field(
    "ConnectionSyncType", [("email", "E-mail"), ("calendar", "Calendar"), ("all", "All")]
)


# -- sync status ---------------------------------------------------------------------------------


class FolderProgressSerializer(serializers.Serializer):
    status = FolderStatusField()
    total_messages = serializers.IntegerField()
    processed_messages = serializers.IntegerField()
    failed_messages = serializers.IntegerField()


class MailboxSyncStatusSerializer(serializers.Serializer):
    """A run as seed 003's MailboxSyncStatus: one progress entry per folder label."""

    execution_id = serializers.CharField()
    sync_id = serializers.IntegerField()
    mailbox_id = serializers.IntegerField()
    status = RunStatusField()
    timeframe = TimeframeField()
    trigger = serializers.CharField()
    full_resync = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    created_messages = serializers.IntegerField()
    updated_messages = serializers.IntegerField()
    deleted_messages = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    inbox = FolderProgressSerializer(required=False)
    sent_items = FolderProgressSerializer(required=False)
    archive = FolderProgressSerializer(required=False)
    mailbox = FolderProgressSerializer(required=False, help_text="Gmail: the whole mailbox")
    retry = FolderProgressSerializer(required=False, help_text="A retry of failed messages")


def run_status(run: SyncRun) -> dict[str, Any]:
    """The data of ``MailboxSyncStatusSerializer`` for one run."""
    data: dict[str, Any] = {
        "execution_id": str(run.pk),
        "sync_id": run.pk,
        "mailbox_id": run.mailbox_id,
        "status": run.status,
        "timeframe": run.timeframe,
        "trigger": run.trigger,
        "full_resync": run.full_resync,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "created_messages": run.created_count,
        "updated_messages": run.updated_count,
        "deleted_messages": run.deleted_count,
        "error": run.error or None,
    }
    for folder in sync_run_progress(run):
        if folder.label not in data:
            data[folder.label] = {
                "status": folder.status,
                "total_messages": folder.total,
                "processed_messages": folder.processed,
                "failed_messages": folder.failed,
            }
    return data


def run_status_json(run: SyncRun) -> dict[str, Any]:
    """A run as the API answers it: known labels through the serializer, any other as is."""
    data = run_status(run)
    body = dict(MailboxSyncStatusSerializer(data).data)
    extra = {k: v for k, v in data.items() if k not in body and k not in FOLDER_LABELS}
    return body | extra


# -- mailboxes -----------------------------------------------------------------------------------


class ConnectionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    status = serializers.CharField()


class MailboxSerializer(serializers.ModelSerializer):
    """A mailbox with its policies, sync state and latest run.

    Context: ``runs`` ({mailbox id: latest run}) and ``editable`` (ids the caller may change).
    """

    kind = KindField()
    owner_email = serializers.EmailField(source="owner.email")
    connection = ConnectionRefSerializer()
    sync_timeframe = TimeframeField()
    visibility = VisibilityField()
    contact_creation = ContactCreationField()
    sync_state = SyncStateField()
    failed_messages = serializers.SerializerMethodField()
    latest_sync = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()

    class Meta:
        model = Mailbox
        fields = [
            "id", "address", "display_name", "provider", "kind", "owner", "owner_email",
            "connection", "shared_inbox", "read_enabled", "send_enabled", "sync_enabled",
            "sync_timeframe", "visibility", "contact_creation", "exclude_internal", "is_default",
            "sync_state", "last_synced_at", "next_sync_at", "last_error", "throttled_until",
            "failed_messages", "latest_sync", "can_edit", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_failed_messages(self, mailbox: Mailbox) -> int:
        return int(getattr(mailbox, "failed_count", 0))

    @extend_schema_field(MailboxSyncStatusSerializer(allow_null=True))
    def get_latest_sync(self, mailbox: Mailbox) -> dict[str, Any] | None:
        run = self.context.get("runs", {}).get(mailbox.pk)
        return run_status_json(run) if run is not None else None

    def get_can_edit(self, mailbox: Mailbox) -> bool:
        return mailbox.pk in self.context.get("editable", ())


class MailboxUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    read_enabled = serializers.BooleanField(required=False)
    send_enabled = serializers.BooleanField(required=False)
    sync_enabled = serializers.BooleanField(required=False)
    sync_timeframe = TimeframeField(required=False)
    visibility = VisibilityField(required=False)
    contact_creation = ContactCreationField(required=False)
    exclude_internal = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    shared_inbox = TenantPrimaryKeyField(SharedInbox, required=False, allow_null=True)


# -- sync requests -------------------------------------------------------------------------------


class SyncStartSerializer(StrictSerializerMixin, serializers.Serializer):
    timeframe = TimeframeField(
        required=False, help_text="List this period again; without it, changes since last sync."
    )


class SyncStartedSerializer(serializers.Serializer):
    mailbox_id = serializers.IntegerField()
    sync_id = serializers.IntegerField()
    execution_id = serializers.CharField()
    status = RunStatusField()
    timeframe = TimeframeField()


def run_started(run: SyncRun) -> dict[str, Any]:
    return {
        "mailbox_id": run.mailbox_id,
        "sync_id": run.pk,
        "execution_id": str(run.pk),
        "status": run.status,
        "timeframe": run.timeframe,
    }


class SyncSkippedSerializer(serializers.Serializer):
    mailbox_id = serializers.IntegerField()
    address = serializers.CharField()
    code = serializers.CharField()
    reason = serializers.CharField()


class SyncBatchSerializer(serializers.Serializer):
    started = SyncStartedSerializer(many=True)
    already_running = SyncStartedSerializer(many=True)
    skipped = SyncSkippedSerializer(many=True)


class ConnectionSyncSerializer(StrictSerializerMixin, serializers.Serializer):
    type = SyncTypeField(required=False, default="all")


class ConnectionSyncResultSerializer(SyncBatchSerializer):
    connection_id = serializers.IntegerField()
    type = SyncTypeField()


class SyncRetrySerializer(StrictSerializerMixin, serializers.Serializer):
    sync_id = serializers.CharField(help_text="The sync (execution id) whose failures to retry")
    scope = RetryScopeField(required=False)
    message_ids = serializers.ListField(
        child=serializers.CharField(max_length=512),
        required=False,
        allow_empty=False,
        max_length=1000,
        help_text="Provider message ids to retry (instead of scope)",
    )

    def validate_sync_id(self, value: str) -> int:
        if not value.isdigit():
            raise serializers.ValidationError("Not a sync id.")
        return int(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("scope" in attrs) == ("message_ids" in attrs):
            raise serializers.ValidationError(
                {"scope": ["Give either scope: all_failed or message_ids."]}
            )
        return attrs


class RetryStartedSerializer(serializers.Serializer):
    retry_execution_id = serializers.CharField()
    retry_sync_id = serializers.IntegerField()
    messages_queued = serializers.IntegerField()


class SyncFailureSerializer(serializers.ModelSerializer):
    message_id = serializers.CharField(source="provider_message_id")
    sync_id = serializers.IntegerField(source="run_id")
    status = FailureStatusField()
    retryable = serializers.SerializerMethodField()

    class Meta:
        model = SyncFailure
        fields = [
            "id", "message_id", "folder", "status", "attempts", "last_error", "retryable",
            "sync_id", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_retryable(self, failure: SyncFailure) -> bool:
        return failure.status == FailureStatus.FAILED


# -- shared mailboxes ----------------------------------------------------------------------------


class SharedMailboxConnectSerializer(StrictSerializerMixin, serializers.Serializer):
    email = serializers.EmailField(help_text="The shared mailbox's address")
    shared_inbox_id = serializers.CharField(
        required=False, help_text='A shared inbox id, or "default" (the default)'
    )
    mailboxSyncTimeframe = TimeframeField(
        required=False, help_text="Start a first sync of this period right away"
    )
    connectionId = serializers.IntegerField(
        required=False, help_text="Your Microsoft 365 connection to use, if you have several"
    )

    def validate_shared_inbox_id(self, value: str) -> SharedInbox | None:
        if value in ("", "default"):
            return None
        inbox = SharedInbox.objects.filter(pk=int(value)).first() if value.isdigit() else None
        if inbox is None:
            raise serializers.ValidationError(f'Invalid pk "{value}" - object does not exist.')
        return inbox


class SharedMailboxConnectedSerializer(serializers.Serializer):
    mailbox = MailboxSerializer()
    outlook_email = serializers.EmailField()
    tenant_id = serializers.CharField()
    provider = OutlookProviderField()
    sync = SyncStartedSerializer(allow_null=True)


class MailboxDisconnectedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    email = serializers.EmailField()


class ConnectedOutlookEmailSerializer(serializers.Serializer):
    outlook_email = serializers.EmailField()
    mailbox_id = serializers.IntegerField()
    kind = KindField()
    tenant_id = serializers.CharField()
    provider = OutlookProviderField()
    connected_at = serializers.DateTimeField()
    connected_by_user_id = serializers.CharField()


class ConnectedOutlookEmailsSerializer(serializers.Serializer):
    outlook_emails = ConnectedOutlookEmailSerializer(many=True)
    count = serializers.IntegerField()


def outlook_email(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "outlook_email": mailbox.address,
        "mailbox_id": mailbox.pk,
        "kind": mailbox.kind,
        "tenant_id": mailbox.connection.directory_tenant_id,
        "provider": "outlook",
        "connected_at": mailbox.created_at,
        "connected_by_user_id": str(mailbox.owner_id),
    }
