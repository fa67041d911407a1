"""Reads for reading mail: a thread, a message or an attachment as one person may see it.

Every message carries its visibility ``level`` (``integrations.mail.visibility``: the best level
any of its copies allows; mail the person may not see at all is not there) and its ``unread`` /
``starred`` state: taken from the person's own copies when they hold one, else from the copies
they may see. A thread costs the same handful of queries however many messages it has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Value,
    When,
)

from crm.models import User
from integrations.mail.models import (
    Attachment,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ThreadLink,
    ThreadTask,
)
from integrations.mail.visibility import (
    FULL,
    HIDDEN,
    LEVEL_NAMES,
    METADATA,
    SUBJECT,
    VisibilityRules,
)


@dataclass(frozen=True)
class MessageReading:
    """One message as the person may see it: participants (with their contact and account) and
    attachments are prefetched on ``message``."""

    message: Message
    level: int
    unread: bool
    starred: bool

    @property
    def visibility(self) -> str:
        return str(LEVEL_NAMES[self.level])

    @property
    def shows_subject(self) -> bool:
        return self.level >= SUBJECT

    @property
    def shows_content(self) -> bool:
        return self.level >= FULL

    @property
    def participants(self) -> list[Participant]:
        return list(self.message.participants.all())

    @property
    def attachments(self) -> list[Attachment]:
        """The attachments, when the person may see the content (else none)."""
        return list(self.message.attachments.all()) if self.shows_content else []


@dataclass(frozen=True)
class ThreadReading:
    """A thread with the messages the person may see (oldest first), its CRM links and tasks."""

    thread: MailThread
    messages: list[MessageReading]
    links: list[ThreadLink]
    tasks: list[ThreadTask]

    @property
    def level(self) -> int:
        return max(m.level for m in self.messages)

    @property
    def visibility(self) -> str:
        return str(LEVEL_NAMES[self.level])

    @property
    def subject(self) -> str | None:
        return self.thread.subject if self.level >= SUBJECT else None


def _readable_messages(user: User, rules: VisibilityRules) -> QuerySet[Message]:
    """Messages annotated with ``level``, ``unread`` and ``starred`` for ``user``; hidden ones
    filtered out; participants and attachments prefetched."""
    copies = MessageCopy.objects.filter(message=OuterRef("pk")).order_by()
    seen = copies if rules.everything else copies.filter(rules.any)
    own = copies.filter(mailbox__owner=user)
    level: Any
    if rules.everything:
        level = Value(FULL, output_field=IntegerField())
    else:
        level = Case(
            When(Exists(copies.filter(rules.full)), then=Value(FULL)),
            When(Exists(copies.filter(rules.subject)), then=Value(SUBJECT)),
            When(Exists(copies.filter(rules.any)), then=Value(METADATA)),
            default=Value(HIDDEN),
            output_field=IntegerField(),
        )

    def flag(**condition: Any) -> Case:
        return Case(
            When(Exists(own), then=Exists(own.filter(**condition))),
            default=Exists(seen.filter(**condition)),
            output_field=BooleanField(),
        )

    people = Participant.objects.select_related("contact", "account").order_by("position", "pk")
    readable = (
        Message.objects.annotate(
            level=level, unread=flag(is_read=False), starred=flag(is_starred=True)
        )
        .filter(level__gt=HIDDEN)
        .prefetch_related(
            Prefetch("participants", queryset=people),
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk")),
        )
    )
    return cast("QuerySet[Message]", readable)


def _reading(message: Any) -> MessageReading:
    return MessageReading(
        message=message, level=message.level, unread=message.unread, starred=message.starred
    )


def thread_for_reader(*, user: User, thread_id: int) -> ThreadReading | None:
    """The thread with every message ``user`` may see, in date order; None when they may see
    none of it (or it is not there)."""
    thread = MailThread.objects.filter(pk=thread_id).first()
    if thread is None:
        return None
    rules = VisibilityRules.for_user(user)
    messages = [
        _reading(m)
        for m in _readable_messages(user, rules).filter(thread=thread).order_by("sent_at", "pk")
    ]
    if not messages:
        return None
    links = list(
        ThreadLink.objects.filter(thread=thread)
        .select_related("contact", "account", "deal")
        .order_by("created_at", "pk")
    )
    tasks = list(
        ThreadTask.objects.filter(thread=thread).select_related("task").order_by("created_at", "pk")
    )
    return ThreadReading(thread=thread, messages=messages, links=links, tasks=tasks)


def message_for_reader(*, user: User, message_id: int) -> MessageReading | None:
    """One message as ``user`` may see it; None when hidden from them (or not there)."""
    rules = VisibilityRules.for_user(user)
    message = _readable_messages(user, rules).filter(pk=message_id).first()
    return _reading(message) if message is not None else None


def attachment_for_reader(
    *, user: User, message_id: int, attachment_id: int
) -> tuple[MessageReading, Attachment] | None:
    """An attachment of a message whose content ``user`` may see; None otherwise."""
    reading = message_for_reader(user=user, message_id=message_id)
    if reading is None or not reading.shows_content:
        return None
    attachment = next((a for a in reading.attachments if a.pk == attachment_id), None)
    return (reading, attachment) if attachment is not None else None
