"""Reads: the inbox as one person may see it — a page of conversations or of messages, and the
number of conversations in each folder. The API and the web UI call:

    inbox_page(user=alice, filters=InboxFilters(folder="inbox", query=search_parse("from:anna")),
               page=1, limit=25) -> InboxPage   # .results: ConversationRow or MessageRow items
    folder_counts(user=alice, mailbox_id=None) -> dict[str, FolderTotals]   # by InboxFolder
    conversation_row(user=alice, thread_id=7, folder="inbox") -> ConversationRow | None

Scope: the mailboxes the person may see (``visibility.VisibilityRules``: their own, the ones
that are not private, all of them for admins), or the one ``InboxFilters.mailbox_id`` names
(``MailboxNotVisible`` when they may not see it). The team's rows (``MailboxThread`` of scope
TEAM_SCOPE) stand for every mailbox that is not private; private mailboxes in scope add their own
rows, and a conversation both hold is listed once, through the team's row.

Levels: a conversation shows at the best level its mailboxes in scope allow — metadata (who and
when: no subject, no snippet), subject (no snippet), full. Search looks only into messages whose
level covers what the query reads (``SearchQuery.level``).

Cost: a page is an index range in ``(last_message_at, thread)`` order of the scope's rows; the
total of a folder (with or without ``unread``) comes from the ``FolderCount`` counters, other
filters count their matches; a search that finds few conversations reads just those. The
number of queries does not depend on the page size. ``selectors_inbox_scope`` holds what the
conversation list (here) and the message list (``selectors_inbox_messages``) share;
``selectors_inbox_rows`` builds the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from crm.models import User
from integrations.mail.inbox_rows import conversations_combined
from integrations.mail.models import InboxFolder, MailboxThread
from integrations.mail.models.inbox import FOLDER_CONDITIONS, TEAM_SCOPE
from integrations.mail.selectors_inbox_messages import message_page
from integrations.mail.selectors_inbox_rows import (
    ConversationRow,
    ListedRow,
    conversation_rows,
    stored_rows,
)
from integrations.mail.selectors_inbox_scope import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SEARCH_IDS,
    Found,
    InboxFilters,
    InboxPage,
    InboxScope,
    InboxView,
    MailboxNotVisible,
    counted,
    counters,
    filtered_by_conversation,
    page_keys,
    rows_scope,
)
from integrations.mail.sql import ids_condition

__all__ = [
    "ConversationRow",
    "FolderTotals",
    "InboxFilters",
    "InboxPage",
    "InboxScope",
    "InboxView",
    "MailboxNotVisible",
    "conversation_row",
    "folder_counts",
    "inbox_page",
]


@dataclass(frozen=True)
class FolderTotals:
    total: int  # conversations
    unread: int  # conversations with an unread message


# -- conversations -------------------------------------------------------------------------------


def _team_or_own(scope: InboxScope, *, team: bool) -> QuerySet[MailboxThread]:
    if team:
        return MailboxThread.objects.filter(scope=TEAM_SCOPE)
    ids = scope.own_rows
    return MailboxThread.objects.filter(
        **({"scope": ids[0]} if len(ids) == 1 else {"scope__in": ids})
    )


def _conversations_filtered(
    rows: QuerySet[MailboxThread], filters: InboxFilters, found: Q
) -> QuerySet[MailboxThread]:
    condition = FOLDER_CONDITIONS.get(InboxFolder(filters.folder))
    if condition is not None:
        rows = rows.filter(condition)
    if filters.unread is not None:
        rows = rows.filter(unread_count__gt=0) if filters.unread else rows.filter(unread_count=0)
    if filters.direction:
        rows = rows.filter(**{filters.direction: True})
    rows = filtered_by_conversation(rows, filters)
    return rows.filter(found)


def _conversation_branches(
    scope: InboxScope, filters: InboxFilters, found: Q
) -> list[QuerySet[MailboxThread]]:
    """One or two row sets, newest first, that never hold the same conversation twice."""
    if not scope.team:
        return [_conversations_filtered(_team_or_own(scope, team=False), filters, found)]
    team = _conversations_filtered(_team_or_own(scope, team=True), filters, found)
    if not scope.mixed:
        return [team]
    own = _conversations_filtered(_team_or_own(scope, team=False), filters, found)
    same_thread = {"thread_id": OuterRef("thread_id")}
    in_team = _conversations_filtered(
        MailboxThread.objects.filter(scope=TEAM_SCOPE, **same_thread), filters, found
    )
    newer = _conversations_filtered(
        _team_or_own(scope, team=False).filter(
            Q(last_message_at__gt=OuterRef("last_message_at"))
            | Q(last_message_at=OuterRef("last_message_at"), scope__gt=OuterRef("scope")),
            **same_thread,
        ),
        filters,
        found,
    )
    return [team, own.filter(~Exists(in_team), ~Exists(newer))]


def _conversation_total(
    scope: InboxScope, filters: InboxFilters, branches: list[QuerySet[MailboxThread]]
) -> int:
    if not filters.counted:
        return sum(branch.count() for branch in branches)
    scope_id = TEAM_SCOPE if scope.team else scope.own_rows[0]
    counts = counters([scope_id]).get(filters.folder, {})
    total = counted(counts, "threads", filters.unread)
    return total + sum(branch.count() for branch in branches[1:])


def _conversation_page(
    scope: InboxScope, filters: InboxFilters, page: int, limit: int
) -> InboxPage:
    found = Found.of(filters.query, scope, "thread_id")
    branches = _conversation_branches(scope, filters, found.condition)
    offset, order = (page - 1) * limit, ("-last_message_at", "-thread_id")
    if found.bounded:
        keys = page_keys(branches, order, 0, SEARCH_IDS, carry="scope")
        total, keys = len(keys), keys[offset : offset + limit]
        rows = _rows_of(scope, [key[1] for key in keys])
    else:
        total = _conversation_total(scope, filters, branches)
        rows = _page_rows(scope, branches, offset, limit)
    results = conversation_rows(rows, **rows_scope(scope))
    return InboxPage(results=results, total=total, page=page, limit=limit)


def _rows_of(scope: InboxScope, thread_ids: list[int]) -> list[ListedRow]:
    """The rows of these conversations in this order: the scope's stored rows, or — team and
    private rows together — each combined from the copies of every mailbox in scope."""
    rows: dict[int, ListedRow]
    if scope.mixed:
        rows = dict(conversations_combined(thread_ids, list(scope.mailboxes)))
    else:
        scope_id = TEAM_SCOPE if scope.team else scope.own_rows[0]
        condition, params = ids_condition("r.thread_id", thread_ids)
        rows = {row.thread_id: row for row in stored_rows(scope_id, condition, params)}
    return [rows[thread_id] for thread_id in thread_ids if thread_id in rows]


def _page_rows(
    scope: InboxScope, branches: list[QuerySet[MailboxThread]], offset: int, limit: int
) -> list[ListedRow]:
    """The page's rows, newest first. One branch: its stored rows read with the page's range
    in one query (the range itself an index-only scan); two: their keys merged."""
    order = ("-last_message_at", "-thread_id")
    if len(branches) > 1:
        keys = page_keys(branches, order, offset, limit, carry="scope")
        return _rows_of(scope, [key[1] for key in keys])
    (scope_id,) = [TEAM_SCOPE] if scope.team else scope.own_rows
    page = branches[0].order_by(*order).values("thread_id")[offset : offset + limit]
    sql, params = page.query.sql_with_params()
    return list(stored_rows(scope_id, f"r.thread_id IN ({sql})", list(params)))


# -- entry points --------------------------------------------------------------------------------


def inbox_page(
    *, user: User, filters: InboxFilters, page: int = 1, limit: int = DEFAULT_LIMIT
) -> InboxPage:
    """One page of the person's inbox, newest first. Raises MailboxNotVisible."""
    limit = max(1, min(limit, MAX_LIMIT))
    page = max(1, page)
    scope = InboxScope.for_user(user, filters.mailbox_id)
    if filters.view == InboxView.MESSAGES:
        return message_page(scope, filters, page, limit)
    return _conversation_page(scope, filters, page, limit)


def folder_counts(*, user: User, mailbox_id: int | None = None) -> dict[str, FolderTotals]:
    """Conversations and unread conversations per folder in the person's scope (or in one
    mailbox): the counters, plus — when private mailboxes are in scope — their conversations
    that the team's rows do not hold. Raises MailboxNotVisible."""
    scope = InboxScope.for_user(user, mailbox_id)
    scope_id = TEAM_SCOPE if scope.team else scope.own_rows[0]
    counts = counters([scope_id])
    totals: dict[str, FolderTotals] = {}
    for folder in InboxFolder:
        folder_counts_row = counts.get(folder.value, {})
        total = folder_counts_row.get("threads", 0)
        unread = folder_counts_row.get("unread_threads", 0)
        if scope.mixed:
            # As the list counts them: the private mailboxes' conversations the team's rows
            # do not show (in the folder, and among the unread ones).
            every = InboxFilters(folder=folder)
            total += _conversation_branches(scope, every, Q())[1].count()
            unread_ones = InboxFilters(folder=folder, unread=True)
            unread += _conversation_branches(scope, unread_ones, Q())[1].count()
        totals[folder.value] = FolderTotals(total=total, unread=unread)
    return totals


def conversation_row(
    *, user: User, thread_id: int, mailbox_id: int | None = None, folder: str | None = None
) -> ConversationRow | None:
    """One conversation as the person's inbox lists it in ``folder`` (any folder when None),
    for a list row redrawn after a change; None when it is not there (or not in their scope).
    Raises MailboxNotVisible."""
    scope = InboxScope.for_user(user, mailbox_id)
    filters = InboxFilters(folder=folder or InboxFolder.ALL)
    branches = [
        branch.filter(thread_id=thread_id) for branch in _conversation_branches(scope, filters, Q())
    ]
    rows = conversation_rows(_page_rows(scope, branches, 0, 1), **rows_scope(scope))
    return rows[0] if rows else None
