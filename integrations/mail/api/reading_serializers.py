"""Shapes of the reading API (a thread, a message, its participants, attachments and links), and
the functions that fill them from ``selectors_reading``'s dataclasses.

Hidden parts are ``null``, never left out: ``subject`` below the subject level, ``snippet``,
bodies and attachments below the full level (``visibility`` says which level applies).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import User
from integrations.mail.models import (
    Attachment,
    Direction,
    Participant,
    ParticipantRole,
    ThreadLink,
    ThreadTask,
    Visibility,
)
from integrations.mail.reading_html import attachment_url, message_safe_html
from integrations.mail.selectors_reading import MessageReading, ThreadReading


class _FixedChoiceField(serializers.ChoiceField):
    """A choice field whose choices are fixed by its class."""

    fixed_choices: list[str] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.fixed_choices, **kwargs)


def _enum(component: str, values: list[str]) -> type[_FixedChoiceField]:
    """A choice field whose enum is one named schema component (no enum-name collisions)."""

    @extend_schema_field({"type": "string", "enum": values}, component)
    class EnumField(_FixedChoiceField):
        fixed_choices = values

    EnumField.__name__ = EnumField.__qualname__ = f"{component}Field"
    return EnumField


RoleField = _enum("ReadingParticipantRole", list(ParticipantRole.values))
VisibilityField = _enum("ReadingVisibility", [v for v in Visibility.values if v != "private"])
DirectionField = _enum("ReadingDirection", list(Direction.values))
LinkTypeField = _enum("ReadingLinkType", ["contact", "account", "deal"])


class ReadingRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ReadingParticipantSerializer(serializers.Serializer):
    role = RoleField()
    address = serializers.EmailField()
    name = serializers.CharField(allow_blank=True)
    contact = ReadingRecordSerializer(allow_null=True, help_text="The matched CRM contact")
    account = ReadingRecordSerializer(allow_null=True, help_text="The matched CRM account")


class ReadingAttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField(allow_blank=True)
    contentType = serializers.CharField()
    size = serializers.IntegerField()
    inline = serializers.BooleanField()
    contentId = serializers.CharField(allow_null=True)
    url = serializers.URLField(help_text="Streams the content (fetched on first use).")


class ReadingMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    threadId = serializers.IntegerField()
    visibility = VisibilityField(help_text="metadata (who and when), subject, or full")
    subject = serializers.CharField(allow_null=True, allow_blank=True)
    snippet = serializers.CharField(allow_null=True, allow_blank=True)
    sentAt = serializers.DateTimeField()
    direction = DirectionField()
    unread = serializers.BooleanField()
    starred = serializers.BooleanField()
    hasAttachments = serializers.BooleanField()
    size = serializers.IntegerField()
    rfcMessageId = serializers.CharField()
    participants = ReadingParticipantSerializer(many=True)
    textBody = serializers.CharField(allow_null=True, allow_blank=True)
    htmlBody = serializers.CharField(
        allow_null=True,
        help_text=(
            "Sanitized HTML; inline images point at the attachment endpoint with a signed link. "
            "Remote images are blocked (src moved to data-remote-src) unless images=1."
        ),
    )
    remoteImages = serializers.IntegerField(help_text="Remote images in the HTML body.")
    imagesShown = serializers.BooleanField()
    attachments = ReadingAttachmentSerializer(many=True)


class ReadingThreadLinkSerializer(serializers.Serializer):
    type = LinkTypeField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a JSON key, not Field.source


class ReadingThreadTaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    dueAt = serializers.DateTimeField(allow_null=True)


class ReadingThreadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField(allow_null=True, allow_blank=True)
    visibility = VisibilityField(help_text="The best level of any of its messages.")
    messageCount = serializers.IntegerField(help_text="Messages the reader may see.")
    lastMessageAt = serializers.DateTimeField()
    links = ReadingThreadLinkSerializer(many=True)
    tasks = ReadingThreadTaskSerializer(many=True)
    messages = ReadingMessageSerializer(many=True)


# -- filling them --------------------------------------------------------------------------------


def _named(record: Any) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"id": record.pk, "name": str(record)}


def _participant(participant: Participant) -> dict[str, Any]:
    return {
        "role": participant.role,
        "address": participant.address,
        "name": participant.name,
        "contact": _named(participant.contact),
        "account": _named(participant.account),
    }


def _attachment(request: HttpRequest, attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "contentType": attachment.content_type,
        "size": attachment.size,
        "inline": attachment.is_inline,
        "contentId": attachment.content_id or None,
        "url": attachment_url(request, attachment),
    }


def message_data(
    request: HttpRequest, reading: MessageReading, *, user: User, show_images: bool
) -> dict[str, Any]:
    message = reading.message
    full = reading.shows_content
    body = (
        message_safe_html(request, reading, user=user, show_images=show_images)
        if full and message.html_body
        else None
    )
    return {
        "id": message.pk,
        "threadId": message.thread_id,
        "visibility": reading.visibility,
        "subject": message.subject if reading.shows_subject else None,
        "snippet": message.snippet if full else None,
        "sentAt": message.sent_at,
        "direction": message.direction,
        "unread": reading.unread,
        "starred": reading.starred,
        "hasAttachments": message.has_attachments,
        "size": message.size,
        "rfcMessageId": message.rfc_message_id,
        "participants": [_participant(p) for p in reading.participants],
        "textBody": message.text_body if full else None,
        "htmlBody": body.html if body else None,
        "remoteImages": body.remote_images if body else 0,
        "imagesShown": bool(body and body.images_shown),
        "attachments": [_attachment(request, a) for a in reading.attachments],
    }


def _link(link: ThreadLink) -> dict[str, Any]:
    for kind in ("contact", "account", "deal"):
        record = getattr(link, kind)
        if record is not None:
            return {"type": kind, "id": record.pk, "name": str(record), "source": link.source}
    raise ValueError(f"thread link {link.pk} names no record")


def _task(link: ThreadTask) -> dict[str, Any]:
    task = link.task
    return {"id": task.pk, "title": task.title, "status": task.status, "dueAt": task.due_at}


def thread_data(
    request: HttpRequest, reading: ThreadReading, *, user: User, show_images: bool
) -> dict[str, Any]:
    return {
        "id": reading.thread.pk,
        "subject": reading.subject,
        "visibility": reading.visibility,
        "messageCount": len(reading.messages),
        "lastMessageAt": reading.messages[-1].message.sent_at,
        "links": [_link(link) for link in reading.links],
        "tasks": [_task(link) for link in reading.tasks],
        "messages": [
            message_data(request, m, user=user, show_images=show_images) for m in reading.messages
        ],
    }
