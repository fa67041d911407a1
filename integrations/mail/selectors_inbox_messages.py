"""Reads: the inbox as a flat list of messages (``view=messages``), one row per message in
scope — its newest copy there stands for it (see selectors_inbox)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from integrations.mail.models import InboxFolder, MessageCopy
from integrations.mail.models.inbox import TEAM_SCOPE
from integrations.mail.selectors_inbox_rows import message_rows
from integrations.mail.selectors_inbox_scope import (
    SEARCH_IDS,
    Found,
    InboxFilters,
    InboxPage,
    InboxScope,
    counted,
    counters,
    filtered_by_conversation,
    page_keys,
    rows_scope,
)

_COPY_CONDITIONS = {
    InboxFolder.INBOX: Q(in_inbox=True),
    InboxFolder.SENT: Q(in_sent=True),
    InboxFolder.ARCHIVE: Q(is_archived=True),
    InboxFolder.STARRED: Q(is_starred=True),
    InboxFolder.ALL: Q(),
}


def _message_copies(scope: InboxScope, filters: InboxFilters, found: Q) -> QuerySet[MessageCopy]:
    """One copy per message in scope that passes the filters: the newest such copy."""
    mailbox_ids = list(scope.mailboxes)
    folder = InboxFolder(filters.folder)
    in_scope = MessageCopy.objects.filter(mailbox_id__in=mailbox_ids)
    carriers = in_scope.filter(_COPY_CONDITIONS[folder])
    copies = carriers
    if folder == InboxFolder.ARCHIVE:
        in_inbox = in_scope.filter(message_id=OuterRef("message_id"), in_inbox=True)
        copies = copies.filter(~Exists(in_inbox))
    newer = carriers.filter(message_id=OuterRef("message_id")).filter(
        Q(received_at__gt=OuterRef("received_at"))
        | Q(received_at=OuterRef("received_at"), pk__gt=OuterRef("pk"))
    )
    copies = copies.filter(~Exists(newer))
    if filters.unread is not None:
        unread = in_scope.filter(message_id=OuterRef("message_id"), is_read=False)
        copies = copies.filter(Exists(unread) if filters.unread else ~Exists(unread))
    if filters.direction:
        copies = copies.filter(message__direction=filters.direction)
    copies = filtered_by_conversation(copies, filters, thread="message__thread")
    return copies.filter(found)


def message_page(scope: InboxScope, filters: InboxFilters, page: int, limit: int) -> InboxPage:
    found = Found.of(filters.query, scope, "message_id")
    copies = _message_copies(scope, filters, found.condition)
    offset, order = (page - 1) * limit, ("-received_at", "-pk")
    if found.bounded:
        keys = page_keys([copies], order, 0, SEARCH_IDS, carry="message_id")
        total, keys = len(keys), keys[offset : offset + limit]
    else:
        if filters.counted and not scope.mixed:
            scope_id = TEAM_SCOPE if scope.team else scope.own_rows[0]
            counts = counters([scope_id]).get(filters.folder, {})
            total = counted(counts, "messages", filters.unread)
        else:
            total = copies.count()
        keys = page_keys([copies], order, offset, limit, carry="message_id")
    message_ids = [message_id for _, _, message_id in keys]
    results = message_rows(message_ids, **rows_scope(scope))
    return InboxPage(results=results, total=total, page=page, limit=limit)
