"""Shapes of the inbox (seed 002's ``/email/inbox`` and ``/email/folders/counts``; seed 004's
conversations and messages): camelCase, like the other e-mail endpoints of seed 002."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from crm.api.base import StrictSerializerMixin
from crm.api.pagination import MAX_LIMIT
from integrations.mail.api.matching import ENTITY_TYPES
from integrations.mail.api.sync_serializers import _enum_field
from integrations.mail.models import Direction, InboxFolder, Visibility
from integrations.mail.search import MAX_QUERY_LENGTH
from integrations.mail.selectors_inbox import InboxView
from integrations.mail.selectors_inbox_rows import (
    ConversationRow,
    InboxRef,
    LinkedEntity,
    MessageRow,
    Person,
    Ref,
    UserRef,
)

InboxFolderField = _enum_field("InboxFolder", InboxFolder.choices)
InboxViewField = _enum_field("InboxView", [(v, v) for v in InboxView.ALL])
InboxDirectionField = _enum_field(
    "InboxDirection", [(d.value, str(d.label)) for d in (Direction.INBOUND, Direction.OUTBOUND)]
)
InboxVisibilityField = _enum_field(
    "InboxVisibility", [(v.value, str(v.label)) for v in Visibility if v != Visibility.PRIVATE]
)
EntityTypeField = _enum_field("InboxEntityType", [(t, t) for t in ENTITY_TYPES])


class InboxQuerySerializer(StrictSerializerMixin, serializers.Serializer):
    folder = InboxFolderField(required=False, default=InboxFolder.INBOX)
    view = InboxViewField(
        required=False,
        default=InboxView.CONVERSATIONS,
        help_text="conversations: one row per thread; messages: one row per message",
    )
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        help_text='Words, "quoted phrases" and from: to: subject: has:attachment '
        "before:YYYY-MM-DD after:YYYY-MM-DD",
    )
    unread = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="true: unread only; false: read"
    )
    page = serializers.IntegerField(required=False, min_value=1, default=1)
    limit = serializers.IntegerField(
        required=False, min_value=1, default=25, help_text=f"At most {MAX_LIMIT}"
    )
    mailbox = serializers.IntegerField(required=False, min_value=1, help_text="A mailbox id")
    sharedInbox = serializers.IntegerField(
        required=False, min_value=1, help_text="A shared inbox id"
    )
    assignedTo = serializers.CharField(
        required=False, help_text="A member's user id, or `me`", max_length=20
    )
    direction = InboxDirectionField(required=False)
    entityType = EntityTypeField(required=False)
    entityId = serializers.IntegerField(required=False, min_value=1)

    def validate_assignedTo(self, value: str) -> str:
        if value != "me" and not value.isdigit():
            raise serializers.ValidationError("A user id, or `me`.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("entityType" in attrs) != ("entityId" in attrs):
            raise serializers.ValidationError(
                {"entityType": ["entityType and entityId go together."]}
            )
        attrs["limit"] = min(attrs["limit"], MAX_LIMIT)
        return attrs


class InboxCountsQuerySerializer(StrictSerializerMixin, serializers.Serializer):
    mailbox = serializers.IntegerField(
        required=False, min_value=1, help_text="One mailbox's counts instead of the whole scope"
    )


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class InboxPersonSerializer(serializers.Serializer):
    address = serializers.CharField()
    name = serializers.CharField()
    contact = RefSerializer(allow_null=True, help_text="The matched CRM contact")
    account = RefSerializer(allow_null=True, help_text="The matched CRM account")


class InboxLinkedEntitySerializer(serializers.Serializer):
    entityType = EntityTypeField(source="type")
    entityId = serializers.IntegerField(source="id")
    name = serializers.CharField()


class InboxSharedInboxSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    color = serializers.CharField()


class InboxUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()


class ConversationSerializer(serializers.Serializer):
    """A conversation as the caller may see it: no subject below `subject` visibility, no
    snippet below `full`."""

    id = serializers.IntegerField(help_text="The thread id")
    subject = serializers.CharField(allow_null=True)
    snippet = serializers.CharField(allow_null=True)
    participants = InboxPersonSerializer(many=True)
    lastMessageAt = serializers.DateTimeField(source="last_message_at")
    messageCount = serializers.IntegerField(source="message_count")
    unread = serializers.BooleanField()
    starred = serializers.BooleanField()
    hasAttachments = serializers.BooleanField(source="has_attachments")
    linked = InboxLinkedEntitySerializer(many=True, help_text="Contacts, accounts and deals")
    visibility = InboxVisibilityField()
    sharedInbox = InboxSharedInboxSerializer(source="shared_inbox", allow_null=True)
    assignedTo = InboxUserSerializer(source="assigned_to", allow_null=True)


class InboxMessageSerializer(serializers.Serializer):
    """One message (``view=messages``); ``from`` is its sender."""

    id = serializers.IntegerField(help_text="The message id")
    threadId = serializers.IntegerField(source="thread_id")
    subject = serializers.CharField(allow_null=True)
    snippet = serializers.CharField(allow_null=True)
    sender = InboxPersonSerializer(source="sender", allow_null=True)
    to = InboxPersonSerializer(many=True)
    sentAt = serializers.DateTimeField(source="sent_at")
    direction = serializers.CharField()
    unread = serializers.BooleanField()
    starred = serializers.BooleanField()
    hasAttachments = serializers.BooleanField(source="has_attachments")
    visibility = InboxVisibilityField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # "from" is a Python keyword: declared as ``sender``, answered as ``from``.
        fields["from"] = fields.pop("sender")
        return fields


class ConversationPageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = ConversationSerializer(many=True)


class MessagePageSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    results = InboxMessageSerializer(many=True)


class FolderTotalsSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Conversations")
    unread = serializers.IntegerField(help_text="Conversations with an unread message")


class FolderCountsSerializer(serializers.Serializer):
    inbox = FolderTotalsSerializer()
    sent = FolderTotalsSerializer()
    archive = FolderTotalsSerializer()
    starred = FolderTotalsSerializer()
    all = FolderTotalsSerializer()


# -- the page as plain data ----------------------------------------------------------------------
# The list is the hot path: its rows are built as dicts here, in exactly the shapes the
# serializers above declare (they stay the schema; tests compare both renderings).


def _when(value: datetime) -> str:
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _ref(ref: Ref | None) -> dict[str, Any] | None:
    return None if ref is None else {"id": ref.id, "name": ref.name}


def _person(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {
        "address": person.address,
        "name": person.name,
        "contact": _ref(person.contact),
        "account": _ref(person.account),
    }


def _linked(entity: LinkedEntity) -> dict[str, Any]:
    return {"entityType": entity.type, "entityId": entity.id, "name": entity.name}


def _inbox(inbox: InboxRef | None) -> dict[str, Any] | None:
    return None if inbox is None else {"id": inbox.id, "name": inbox.name, "color": inbox.color}


def _user(user: UserRef | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "email": user.email, "name": user.name}


def conversation_data(row: ConversationRow) -> dict[str, Any]:
    """``ConversationSerializer(row).data`` as a plain dict."""
    return {
        "id": row.id,
        "subject": row.subject,
        "snippet": row.snippet,
        "participants": [_person(person) for person in row.participants],
        "lastMessageAt": _when(row.last_message_at),
        "messageCount": row.message_count,
        "unread": row.unread,
        "starred": row.starred,
        "hasAttachments": row.has_attachments,
        "linked": [_linked(entity) for entity in row.linked],
        "visibility": str(row.visibility),
        "sharedInbox": _inbox(row.shared_inbox),
        "assignedTo": _user(row.assigned_to),
    }


def message_data(row: MessageRow) -> dict[str, Any]:
    """``InboxMessageSerializer(row).data`` as a plain dict."""
    return {
        "id": row.id,
        "threadId": row.thread_id,
        "subject": row.subject,
        "snippet": row.snippet,
        "from": _person(row.sender),
        "to": [_person(person) for person in row.to],
        "sentAt": _when(row.sent_at),
        "direction": str(row.direction),
        "unread": row.unread,
        "starred": row.starred,
        "hasAttachments": row.has_attachments,
        "visibility": str(row.visibility),
    }
