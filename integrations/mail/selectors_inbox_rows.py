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
from typing import Any, Protocol

from crm.tenancy import current_organization
from integrations.mail.models import (
    MailboxThread,
    Message,
    MessageCopy,
    ParticipantRole,
)
from integrations.mail.sql import fetched, ids_condition
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
# The hot path of every inbox page: fixed statements (prepared once per connection where the
# database allows), rows read as tuples, no model instances.


def _people(
    group: str, ids: Sequence[int], held_by: Sequence[int] | None, *, roles: bool = False
) -> dict[int, list[tuple[str, Person]]]:
    """Participants of the messages the mailboxes ``held_by`` hold (None: any mailbox), of the
    conversations (``group`` "thread") or messages (``group`` "message") ``ids``, by that id, in
    order of appearance, each address once (once per role for messages), with its role;
    ``roles``: senders and recipients only."""
    key = "m.thread_id" if group == "thread" else "p.message_id"
    where, params = ids_condition(key, ids)
    if roles:
        where += f" AND p.role IN ('{ParticipantRole.FROM}', '{ParticipantRole.TO}')"
    if held_by is not None:
        held, held_params = ids_condition("c.mailbox_id", held_by)
        where += (
            " AND EXISTS (SELECT 1 FROM mail_messagecopy c"  # noqa: S608 - fixed text
            f" WHERE c.message_id = p.message_id AND {held})"
        )
        params += held_params
    rows = fetched(
        f"SELECT {key}, p.role, p.address, p.name, p.contact_id, k.first_name, k.last_name, "  # noqa: S608 - fixed text
        "p.account_id, a.name FROM mail_participant p "
        "JOIN mail_message m ON m.id = p.message_id "
        "LEFT JOIN crm_contact k ON k.id = p.contact_id "
        "LEFT JOIN crm_account a ON a.id = p.account_id "
        f"WHERE {where} ORDER BY m.sent_at, p.message_id, p.position",
        params,
    )
    people: dict[int, list[tuple[str, Person]]] = defaultdict(list)
    seen: set[tuple[int, str, str]] = set()
    by_role = group == "message"
    for key_id, role, address, name, contact_id, first, last, account_id, account in rows:
        once = (key_id, role if by_role else "", address)
        if once in seen:
            continue
        seen.add(once)
        contact = Ref(contact_id, f"{first} {last}".strip()) if contact_id else None
        company = Ref(account_id, account) if account_id else None
        people[key_id].append((role, Person(address, name, contact, company)))
    return people


def _links(thread_ids: Sequence[int]) -> dict[int, list[LinkedEntity]]:
    where, params = ids_condition("l.thread_id", thread_ids)
    rows = fetched(
        "SELECT l.thread_id, l.contact_id, k.first_name, k.last_name, l.account_id, a.name, "  # noqa: S608 - fixed text
        "l.deal_id, d.name FROM mail_threadlink l "
        "LEFT JOIN crm_contact k ON k.id = l.contact_id "
        "LEFT JOIN crm_account a ON a.id = l.account_id "
        "LEFT JOIN crm_deal d ON d.id = l.deal_id "
        f"WHERE {where} ORDER BY l.id",
        params,
    )
    links: dict[int, list[LinkedEntity]] = defaultdict(list)
    for thread_id, contact_id, first, last, account_id, account, deal_id, deal in rows:
        if contact_id is not None:
            name = f"{first} {last}".strip() or f"Contact {contact_id}"
            links[thread_id].append(LinkedEntity("contact", contact_id, name))
        elif account_id is not None:
            links[thread_id].append(LinkedEntity("account", account_id, account))
        elif deal_id is not None:
            links[thread_id].append(LinkedEntity("deal", deal_id, deal))
    return links


@dataclass(frozen=True)
class _Thread:
    subject: str
    shared_inbox: InboxRef | None
    assigned_to: UserRef | None


def _threads(thread_ids: Sequence[int]) -> dict[int, _Thread]:
    """Subject, shared inbox (the thread's own, else that of the mailbox that first received
    it, as ``selectors_inboxes.first_mailbox_inbox`` reads it) and assignee of each conversation."""
    where, params = ids_condition("t.id", thread_ids)
    rows = fetched(
        "SELECT t.id, t.subject, i.id, i.name, i.color, u.id, u.email, u.first_name, u.last_name "  # noqa: S608 - fixed text
        "FROM (SELECT t.id, t.subject, t.assigned_to_id, COALESCE(t.shared_inbox_id, ("
        "  SELECT b.shared_inbox_id FROM mail_messagecopy c"
        "  JOIN mail_message m ON m.id = c.message_id JOIN mail_mailbox b ON b.id = c.mailbox_id"
        "  WHERE m.thread_id = t.id AND b.shared_inbox_id IS NOT NULL"
        "  ORDER BY c.received_at, c.id LIMIT 1)) AS inbox_id"
        f" FROM mail_mailthread t WHERE {where}) t "
        "LEFT JOIN mail_sharedinbox i ON i.id = t.inbox_id "
        "LEFT JOIN crm_user u ON u.id = t.assigned_to_id",
        params,
    )
    threads = {}
    for thread_id, subject, inbox_id, inbox, color, user_id, email, first, last in rows:
        threads[thread_id] = _Thread(
            subject=subject,
            shared_inbox=InboxRef(inbox_id, inbox, color) if inbox_id is not None else None,
            assigned_to=(
                UserRef(user_id, email, f"{first} {last}".strip() or email)
                if user_id is not None
                else None
            ),
        )
    return threads


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


class ListedRow(Protocol):
    """A conversation's row in a scope: a stored ``MailboxThread`` or one combined from the
    copies of several mailboxes."""

    @property
    def thread_id(self) -> int: ...
    @property
    def last_message_at(self) -> datetime: ...
    @property
    def latest_message_id(self) -> int | None: ...
    @property
    def message_count(self) -> int: ...
    @property
    def unread_count(self) -> int: ...
    @property
    def starred(self) -> bool: ...
    @property
    def has_attachments(self) -> bool: ...


@dataclass(frozen=True)
class StoredRow:
    """A stored row as a page reads it, with its newest message's snippet."""

    thread_id: int
    last_message_at: datetime
    latest_message_id: int | None
    message_count: int
    unread_count: int
    starred: bool
    has_attachments: bool
    latest_snippet: str


def stored_rows(scope_id: int, condition: str, params: list[Any]) -> list[StoredRow]:
    """The scope's stored rows whose ``thread_id`` meets ``condition`` (on ``r.thread_id``),
    newest first, read with their newest message's snippet."""
    rows = fetched(
        "SELECT r.thread_id, r.last_message_at, r.latest_message_id, r.message_count, "  # noqa: S608 - fixed text
        "r.unread_count, r.starred, r.has_attachments, m.snippet "
        "FROM mail_mailboxthread r LEFT JOIN mail_message m ON m.id = r.latest_message_id "
        f"WHERE r.organization_id = %s AND r.scope = %s AND {condition} "
        "ORDER BY r.last_message_at DESC, r.thread_id DESC",
        [current_organization().pk, scope_id, *params],
    )
    return [
        StoredRow(thread_id, at, latest, count, unread, starred, attachments, snippet or "")
        for thread_id, at, latest, count, unread, starred, attachments, snippet in rows
    ]


def conversation_rows(
    rows: Sequence[ListedRow], *, levels: dict[int, int], every_mailbox: bool = False
) -> list[ConversationRow]:
    """The page's conversations, in the order of their ``rows`` (one scope's stored rows, or
    rows combined from the copies of every mailbox in scope), which give their flags.
    ``every_mailbox``: the scope is all of the organization's mailboxes."""
    if not rows:
        return []
    thread_ids = [row.thread_id for row in rows]
    threads = _threads(thread_ids)
    if min(levels.values()) >= FULL:
        # Everything in scope reads in full: each row's newest message gives the snippet.
        best = dict.fromkeys(thread_ids, FULL)
        by_message = {
            row.latest_message_id: row.latest_snippet for row in rows if isinstance(row, StoredRow)
        }
        missing = [row.latest_message_id for row in rows if row.latest_message_id not in by_message]
        if missing:
            newest = Message.objects.filter(pk__in=missing)
            by_message |= dict(newest.values_list("pk", "snippet"))
        snippets = {row.thread_id: by_message.get(row.latest_message_id, "") for row in rows}
    else:
        best, snippets = _levels_and_snippets(thread_ids, levels)
    held_by = None if every_mailbox else list(levels)
    people = _people("thread", thread_ids, held_by)
    links = _links(thread_ids)
    results = []
    for row in rows:
        thread_id = row.thread_id
        thread, level = threads.get(thread_id), best.get(thread_id)
        if thread is None or not level:
            continue  # gone since the page was read
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
                shared_inbox=thread.shared_inbox,
                assigned_to=thread.assigned_to,
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
    people = _people("message", message_ids, None if every_mailbox else list(levels), roles=True)
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
