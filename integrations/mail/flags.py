"""Read, star and archive: the local state changes at once, the provider follows.

    set_flag(user=..., message_ids=[...], flag=Flag.READ, value=None | bool) -> [MessageState]
    set_flags(user=..., message_ids=[...], changes={Flag.READ: True, ...}) -> [MessageState]

A message is acted on through its copies in the mailboxes the person may act on: their own,
every mailbox for the organization's owners and admins, and the mailboxes of a shared inbox
they are an assignee of. A message they cannot see raises ``MessagesNotFound``; one they see
but may not act on raises ``MessagesNotActionable`` (nothing is changed in either case).

``value=None`` toggles each message: read ↔ unread (read = every copy read), star ↔ unstar
(starred = any copy starred), archive ↔ unarchive. Archiving takes the copies that are in the
inbox out of it; unarchiving puts the archived ones back; copies elsewhere (only in Sent, in a
label or folder) are left where they are, with either provider.

Every copy changed records the new value in ``MessageCopy.pending_flags`` (``is_read``,
``is_starred``, ``is_archived``), which the sync store honours, and a task per mailbox writes
it through to Gmail / Graph (``integrations.mail.flags_write``). Set-based: one read of the
messages, one locked read of the copies, one bulk update, one thread recount.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.models import User
from crm.tasks import enqueue
from crm.tenancy import current_organization
from integrations.mail.models import Message, MessageCopy, SharedInboxAssignee
from integrations.mail.threads import threads_recount
from integrations.mail.visibility import VisibilityRules

MAX_MESSAGES = 500


class Flag(StrEnum):
    READ = "read"
    STARRED = "starred"
    ARCHIVED = "archived"


# The MessageCopy field (and pending_flags key) each flag sets.
PENDING_KEYS = {Flag.READ: "is_read", Flag.STARRED: "is_starred", Flag.ARCHIVED: "is_archived"}
_COPY_FIELDS = ("is_read", "is_starred", "is_archived", "in_inbox", "pending_flags", "updated_at")


@dataclass(frozen=True)
class MessageState:
    """A message as the person's actionable copies hold it after the change."""

    id: int
    thread_id: int
    unread: bool
    starred: bool
    archived: bool
    pending: bool  # some of it is still to be written through to the provider


class MessagesNotFound(Exception):
    """Ids of messages that do not exist for this person (unknown, hidden, or foreign)."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"No such messages: {list(ids)}")
        self.ids = list(ids)


class MessagesNotActionable(Exception):
    """Ids of messages the person sees but holds in no mailbox they may act on."""

    def __init__(self, ids: Sequence[int]) -> None:
        super().__init__(f"Not allowed to change messages: {list(ids)}")
        self.ids = list(ids)


def copies_actionable_by(user: User, *, admin: bool) -> Q:
    """The condition on MessageCopy: mailboxes the person may act on."""
    if admin:
        return Q()
    assignee = SharedInboxAssignee.objects.filter(
        shared_inbox_id=OuterRef("mailbox__shared_inbox_id"), user=user
    )
    return Q(mailbox__owner=user) | Q(Exists(assignee))


def set_flag(
    *, user: User, message_ids: Iterable[int], flag: Flag, value: bool | None = None
) -> list[MessageState]:
    """Set (or, with ``value=None``, toggle) one flag of messages; their new states in order."""
    return set_flags(user=user, message_ids=message_ids, changes={flag: value})


def set_flags(
    *, user: User, message_ids: Iterable[int], changes: Mapping[Flag, bool | None]
) -> list[MessageState]:
    """Apply ``changes`` to each message (all or nothing); their new states in order.

    Raises MessagesNotFound, MessagesNotActionable.
    """
    ids = list(dict.fromkeys(message_ids))
    rules = VisibilityRules.for_user(user)
    with transaction.atomic():
        threads = dict(
            Message.objects.filter(pk__in=ids)
            .filter(rules.message_seen(rules.any))
            .values_list("pk", "thread_id")
        )
        missing = [i for i in ids if i not in threads]
        if missing:
            raise MessagesNotFound(missing)
        by_message = _copies_locked(ids, user, admin=rules.everything)
        refused = [i for i in ids if i not in by_message]
        if refused:
            raise MessagesNotActionable(refused)
        changed: dict[int, MessageCopy] = {}
        for flag, value in changes.items():
            for group in by_message.values():
                target = (not flag_state(group, flag)) if value is None else value
                for copy in _copies_to_change(group, flag, target):
                    _change(copy, flag, target)
                    changed[copy.pk] = copy
        if changed:
            _save(list(changed.values()), threads)
    return [_state(i, threads[i], by_message[i]) for i in ids]


def _copies_locked(ids: list[int], user: User, *, admin: bool) -> dict[int, list[MessageCopy]]:
    """The actionable copies of the messages, locked against a concurrent change, by message."""
    copies = (
        MessageCopy.objects.filter(message_id__in=ids)
        .filter(copies_actionable_by(user, admin=admin))
        .only("pk", "message_id", "mailbox_id", *_COPY_FIELDS[:-1])
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    by_message: dict[int, list[MessageCopy]] = {}
    for copy in copies:
        by_message.setdefault(copy.message_id, []).append(copy)
    return by_message


def flag_state(copies: Sequence[MessageCopy], flag: Flag) -> bool:
    """Whether a message counts as read / starred / archived, from its copies."""
    if flag == Flag.READ:
        return all(c.is_read for c in copies)
    if flag == Flag.STARRED:
        return any(c.is_starred for c in copies)
    return not any(c.in_inbox for c in copies) and any(c.is_archived for c in copies)


def _copies_to_change(copies: Sequence[MessageCopy], flag: Flag, target: bool) -> list[MessageCopy]:
    if flag == Flag.READ:
        return [c for c in copies if c.is_read != target]
    if flag == Flag.STARRED:
        return [c for c in copies if c.is_starred != target]
    if target:
        return [c for c in copies if c.in_inbox]
    return [c for c in copies if c.is_archived and not c.in_inbox]


def _change(copy: MessageCopy, flag: Flag, target: bool) -> None:
    key = PENDING_KEYS[flag]
    setattr(copy, key, target)
    if flag == Flag.ARCHIVED:
        copy.in_inbox = not target
    copy.pending_flags = {**(copy.pending_flags or {}), key: target}


def _save(copies: list[MessageCopy], threads: dict[int, int]) -> None:
    """One bulk update, the threads' aggregates recounted, a write-through task per mailbox."""
    from integrations.mail.tasks_flags import mailbox_flags_write_task

    now = timezone.now()
    for copy in copies:
        copy.updated_at = now
    MessageCopy.objects.bulk_update(copies, list(_COPY_FIELDS))
    threads_recount({threads[c.message_id] for c in copies})
    organization = current_organization()
    for mailbox_id in sorted({c.mailbox_id for c in copies}):
        enqueue(mailbox_flags_write_task, organization, mailbox_id)


def _state(message_id: int, thread_id: int, copies: Sequence[MessageCopy]) -> MessageState:
    return MessageState(
        id=message_id,
        thread_id=thread_id,
        unread=not flag_state(copies, Flag.READ),
        starred=flag_state(copies, Flag.STARRED),
        archived=flag_state(copies, Flag.ARCHIVED),
        pending=any(c.pending_flags for c in copies),
    )
