"""Shapes of shared inboxes (seed 003's ``SharedInbox*``: snake_case) and of the conversation
actions — assignment, entity threads, CRM and task links (seed 002/004 style: camelCase)."""

from __future__ import annotations

from rest_framework import serializers

from crm.api.base import StrictSerializerMixin
from crm.models import TaskStatus
from integrations.mail.api.matching import ENTITY_TYPES
from integrations.mail.api.sync_serializers import _enum_field
from integrations.mail.models import LinkSource, SharedInbox, Visibility

LinkSourceField = _enum_field("ThreadLinkSource", LinkSource.choices)
TaskStatusField = _enum_field("ThreadTaskStatus", TaskStatus.choices)
ThreadVisibilityField = _enum_field(
    "ThreadVisibility", [(v.value, v.label) for v in Visibility if v != Visibility.PRIVATE]
)

# -- shared inboxes ------------------------------------------------------------------------------


class SharedInboxSerializer(serializers.ModelSerializer):
    """A shared inbox; ``shared_inbox_list()`` rows (assignees prefetched, mailbox count)."""

    assignees = serializers.SerializerMethodField(help_text="User ids of the inbox's team")
    mailbox_count = serializers.IntegerField(help_text="Mailboxes routed to this inbox")

    class Meta:
        model = SharedInbox
        fields = [
            "id", "name", "color", "description", "is_default", "assignees", "mailbox_count",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_assignees(self, inbox: SharedInbox) -> list[int]:
        return [row.user_id for row in inbox.assignee_rows]  # type: ignore[attr-defined]


class SharedInboxUpdateSerializer(StrictSerializerMixin, serializers.Serializer):
    """Only the fields given change; ``assignees`` replaces the inbox's team."""

    name = serializers.CharField(required=False, help_text="Unique in the organization")
    color = serializers.CharField(required=False, help_text="#RRGGBB")
    description = serializers.CharField(required=False, allow_blank=True)
    assignees = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text="User ids of members of the organization",
    )


class SharedInboxCreateSerializer(SharedInboxUpdateSerializer):
    name = serializers.CharField(help_text="Unique in the organization")
    color = serializers.CharField(help_text="#RRGGBB")


class SharedInboxDeleteQuerySerializer(serializers.Serializer):
    successorInboxId = serializers.CharField(
        required=False,
        help_text="The inbox that takes over the mailboxes and conversations (an id, or "
        "`default`, the default when left out)",
    )


# -- assignment ----------------------------------------------------------------------------------


class ThreadAssignSerializer(StrictSerializerMixin, serializers.Serializer):
    userId = serializers.IntegerField(
        min_value=1, allow_null=True, help_text="A member who may see the conversation; null "
        "unassigns it"
    )  # fmt: skip


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField(source="display_name")


class ThreadAssignmentSerializer(serializers.Serializer):
    threadId = serializers.IntegerField(source="pk")
    sharedInboxId = serializers.IntegerField(source="inbox_id", allow_null=True)
    assignedTo = UserRefSerializer(source="assigned_to", allow_null=True)
    assignedAt = serializers.DateTimeField(source="assigned_at", allow_null=True)


# -- threads of a CRM record ---------------------------------------------------------------------


class EntityThreadsQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1, help_text="Page number, from 1")
    limit = serializers.IntegerField(
        min_value=1, max_value=100, default=25, help_text="Threads per page (at most 100)"
    )


class ThreadPersonSerializer(serializers.Serializer):
    address = serializers.CharField()
    name = serializers.CharField()
    contactId = serializers.IntegerField(source="contact_id", allow_null=True)


class ThreadSummarySerializer(serializers.Serializer):
    """A thread as the person may see it: no subject below ``subject`` visibility, no snippet
    below ``full``; counts and people only of the messages they may see."""

    id = serializers.IntegerField()
    visibility = ThreadVisibilityField()
    subject = serializers.CharField(allow_null=True)
    snippet = serializers.CharField(allow_null=True)
    lastMessageAt = serializers.DateTimeField(source="last_message_at", allow_null=True)
    messageCount = serializers.IntegerField(source="message_count")
    participants = ThreadPersonSerializer(many=True)


class ThreadSummaryPageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = ThreadSummarySerializer(many=True)


# -- CRM and task links --------------------------------------------------------------------------


class ThreadLinkCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    entityType = serializers.ChoiceField(choices=ENTITY_TYPES)
    entityId = serializers.IntegerField(min_value=1)


class LinkedEntitySerializer(serializers.Serializer):
    entityType = serializers.ChoiceField(choices=ENTITY_TYPES, source="entity_type")
    entityId = serializers.IntegerField(source="entity_id")
    name = serializers.CharField()
    # A declared field named like Field.source: DRF's metaclass moves it into the fields.
    source = LinkSourceField(  # type: ignore[assignment]
        help_text="manual: linked by hand; relinking never removes it"
    )
    createdAt = serializers.DateTimeField(source="created_at")


class ThreadTaskCreateSerializer(StrictSerializerMixin, serializers.Serializer):
    taskId = serializers.IntegerField(min_value=1)


class ThreadTaskSerializer(serializers.Serializer):
    taskId = serializers.IntegerField(source="task.pk")
    title = serializers.CharField(source="task.title")
    status = TaskStatusField(source="task.status")
    dueAt = serializers.DateTimeField(source="task.due_at", allow_null=True)
    assigneeId = serializers.IntegerField(source="task.assignee_id", allow_null=True)
    linkedAt = serializers.DateTimeField(source="created_at")
