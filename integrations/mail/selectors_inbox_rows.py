"""Reads: the rows of one inbox page, from the keys ``selectors_inbox`` found — subjects and
snippets at the person's level, participants with their contacts and accounts, CRM links,
shared inbox and assignee. A constant number of queries for a page of any size.

``levels`` maps each mailbox in scope to the person's level there (visibility.METADATA, SUBJECT
or FULL); a conversation or message shows at the best level of the mailboxes in scope that hold
it, and its people are those of the messages these mailboxes hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet

from integrations.mail.models import (
    MailboxThread,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ParticipantRole,
    SharedInbox,
    ThreadLink,
)
from integrations.mail.selectors_inboxes import threads_with_inbox
from integrations.mail.visibility import FULL, HIDDEN, LEVEL_NAMES, SUBJECT


@dataclass(frozen=True)
class Ref:
    """A record named in a row: a contact, an account, a shared inbox, a user."""

    id: int
    name: str


@dataclass(frozen=True)
class Person:
    address: str
    name: str
    contact: Ref | None
    account: Ref | None


@dataclass(frozen=True)
class LinkedEntity:
    type: str  # contact | account | deal
    id: int
    name: str


@dataclass(frozen=True)
class InboxRef:
    id: int
    name: str
    color: str


@dataclass(frozen=True)
class UserRef:
    id: int
    email: str
    name: str


@dataclass(frozen=True)
class ConversationRow:
    """A conversation; ``subject`` and ``snippet`` are None below their level."""

    id: int
    subject: str | None
    snippet: str | None
    participants: list[Person]
    last_message_at: datetime
    message_count: int
    unread: bool
    starred: bool
    has_attachments: bool
    linked: list[LinkedEntity]
    visibility: str
    shared_inbox: InboxRef | None
    assigned_to: UserRef | None


@dataclass(frozen=True)
class MessageRow:
    """One message; ``subject`` and ``snippet`` are None below their level."""

    id: int
    thread_id: int
    subject: str | None
    snippet: str | None
    sender: Person | None
    to: list[Person]
    sent_at: datetime
    direction: str
    unread: bool
    starred: bool
    has_attachments: bool
    visibility: str


# -- people and links ----------------------------------------------------------------------------


def _people(
    group: str, condition: dict[str, Any], held_by: Sequence[int] | None
) -> dict[int, list[tuple[str, Person]]]:
    """Participants of the messages the mailboxes ``held_by`` hold (None: any mailbox), by
    ``group`` (a thread or message id), in order of appearance, each address once, with its
    role."""
    participants = Participant.objects.filter(**condition)
    if held_by is not None:
        held = MessageCopy.objects.filter(message_id=OuterRef("message_id"), mailbox_id__in=held_by)
        participants = participants.filter(Exists(held))
    rows = participants.order_by("message__sent_at", "message_id", "position").values_list(
        group,
        "role",
        "address",
        "name",
        "contact_id",
        "contact__first_name",
        "contact__last_name",
        "account_id",
        "account__name",
    )
    people: dict[int, list[tuple[str, Person]]] = defaultdict(list)
    seen: set[tuple[int, str, str]] = set()
    by_role = group == "message_id"
    for key, role, address, name, contact_id, first, last, account_id, account in rows:
        once = (key, role if by_role else "", address)
        if once in seen:
            continue
        seen.add(once)
        contact = Ref(contact_id, f"{first} {last}".strip()) if contact_id else None
        company = Ref(account_id, account) if account_id else None
        people[key].append((role, Person(address, name, contact, company)))
    return people


def _links(thread_ids: Sequence[int]) -> dict[int, list[LinkedEntity]]:
    links: dict[int, list[LinkedEntity]] = defaultdict(list)
    rows = (
        ThreadLink.objects.filter(thread_id__in=thread_ids)
        .order_by("pk")
        .values_list(
            "thread_id",
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "account_id",
            "account__name",
            "deal_id",
            "deal__name",
        )
    )
    for thread_id, contact_id, first, last, account_id, account, deal_id, deal in rows:
        if contact_id is not None:
            name = f"{first} {last}".strip() or f"Contact {contact_id}"
            links[thread_id].append(LinkedEntity("contact", contact_id, name))
        elif account_id is not None:
            links[thread_id].append(LinkedEntity("account", account_id, account))
        elif deal_id is not None:
            links[thread_id].append(LinkedEntity("deal", deal_id, deal))
    return links


def _inboxes(threads: dict[int, Any]) -> dict[int, InboxRef]:
    ids = {t.inbox_id for t in threads.values() if t.inbox_id}
    return {i.pk: InboxRef(i.pk, i.name, i.color) for i in SharedInbox.objects.filter(pk__in=ids)}


# -- conversations -------------------------------------------------------------------------------


def _levels_and_snippets(
    thread_ids: Sequence[int], levels: dict[int, int]
) -> tuple[dict[int, int], dict[int, str]]:
    """Each thread's best level, and the snippet of its newest message the person may read in
    full (as the mailboxes' rows know them)."""
    holders = MailboxThread.objects.filter(
        thread_id__in=thread_ids, scope__in=list(levels)
    ).values_list(
        "thread_id", "scope", "last_message_at", "latest_message_id", "latest_message__snippet"
    )
    best: dict[int, int] = {}
    newest: dict[int, tuple[datetime, int, str]] = {}
    for thread_id, scope, at, message_id, snippet in holders:
        level = levels[scope]
        best[thread_id] = max(best.get(thread_id, HIDDEN), level)
        if level >= FULL and (thread_id not in newest or (at, message_id) > newest[thread_id][:2]):
            newest[thread_id] = (at, message_id, snippet or "")
    return best, {thread_id: snippet for thread_id, (_, _, snippet) in newest.items()}


def with_snippet(rows: QuerySet[MailboxThread]) -> QuerySet[MailboxThread]:
    """Stored rows read with their newest message's snippet (``latest_snippet``), which
    ``conversation_rows`` then need not read apart."""
    return rows.annotate(latest_snippet=F("latest_message__snippet"))


def conversation_rows(
    rows: Sequence[MailboxThread], *, levels: dict[int, int], every_mailbox: bool = False
) -> list[ConversationRow]:
    """The page's conversations, in the order of their ``rows`` (one scope's stored rows, or
    rows combined from the copies of every mailbox in scope), which give their flags.
    ``every_mailbox``: the scope is all of the organization's mailboxes."""
    if not rows:
        return []
    thread_ids = [row.thread_id for row in rows]
    threads: dict[int, Any] = {
        t.pk: t
        for t in threads_with_inbox(MailThread.objects.filter(pk__in=thread_ids).order_by())
        .select_related("assigned_to")
        .only(
            "pk",
            "subject",
            "shared_inbox_id",
            "assigned_to__id",
            "assigned_to__email",
            "assigned_to__first_name",
            "assigned_to__last_name",
        )
    }
    inboxes = _inboxes(threads)
    if min(levels.values()) >= FULL:
        # Everything in scope reads in full: each row's newest message gives the snippet.
        best = dict.fromkeys(thread_ids, FULL)
        by_message = {
            row.latest_message_id: row.latest_snippet or ""
            for row in rows
            if hasattr(row, "latest_snippet")
        }
        missing = [row.latest_message_id for row in rows if row.latest_message_id not in by_message]
        if missing:
            newest = Message.objects.filter(pk__in=missing)
            by_message |= dict(newest.values_list("pk", "snippet"))
        snippets = {row.thread_id: by_message.get(row.latest_message_id, "") for row in rows}
    else:
        best, snippets = _levels_and_snippets(thread_ids, levels)
    held_by = None if every_mailbox else list(levels)
    people = _people("message__thread_id", {"message__thread_id__in": thread_ids}, held_by)
    links = _links(thread_ids)
    results = []
    for row in rows:
        thread_id = row.thread_id
        thread, level = threads.get(thread_id), best.get(thread_id)
        if thread is None or not level:
            continue  # gone since the page was read
        assignee = thread.assigned_to
        results.append(
            ConversationRow(
                id=thread_id,
                subject=thread.subject if level >= SUBJECT else None,
                snippet=snippets.get(thread_id, "") if level >= FULL else None,
                participants=[person for _, person in people.get(thread_id, [])],
                last_message_at=row.last_message_at,
                message_count=row.message_count,
                unread=row.unread_count > 0,
                starred=row.starred,
                has_attachments=row.has_attachments,
                linked=links.get(thread_id, []),
                visibility=LEVEL_NAMES[level],
                shared_inbox=inboxes.get(thread.inbox_id),
                assigned_to=(
                    UserRef(assignee.pk, assignee.email, assignee.display_name)
                    if assignee is not None
                    else None
                ),
            )
        )
    return results


# -- messages ------------------------------------------------------------------------------------


def message_rows(
    message_ids: Sequence[int], *, levels: dict[int, int], every_mailbox: bool = False
) -> list[MessageRow]:
    """The page's messages in the given order, flags and level from the copies in scope."""
    if not message_ids:
        return []
    messages = {
        m.pk: m
        for m in Message.objects.filter(pk__in=message_ids).only(
            "pk", "thread_id", "subject", "snippet", "sent_at", "direction", "has_attachments"
        )
    }
    copies = MessageCopy.objects.filter(
        message_id__in=message_ids, mailbox_id__in=list(levels)
    ).values_list("message_id", "mailbox_id", "is_read", "is_starred")
    level: dict[int, int] = {}
    unread: set[int] = set()
    starred: set[int] = set()
    for message_id, mailbox_id, is_read, is_starred in copies:
        level[message_id] = max(level.get(message_id, HIDDEN), levels[mailbox_id])
        if not is_read:
            unread.add(message_id)
        if is_starred:
            starred.add(message_id)
    people = _people(
        "message_id",
        {"message_id__in": message_ids, "role__in": [ParticipantRole.FROM, ParticipantRole.TO]},
        None if every_mailbox else list(levels),
    )
    results = []
    for message_id in message_ids:
        message, shown = messages.get(message_id), level.get(message_id)
        if message is None or not shown:
            continue
        roles = people.get(message_id, [])
        senders = [p for role, p in roles if role == ParticipantRole.FROM]
        results.append(
            MessageRow(
                id=message_id,
                thread_id=message.thread_id,
                subject=message.subject if shown >= SUBJECT else None,
                snippet=message.snippet if shown >= FULL else None,
                sender=senders[0] if senders else None,
                to=[p for role, p in roles if role == ParticipantRole.TO],
                sent_at=message.sent_at,
                direction=message.direction,
                unread=message_id in unread,
                starred=message_id in starred,
                has_attachments=message.has_attachments,
                visibility=LEVEL_NAMES[shown],
            )
        )
    return results
