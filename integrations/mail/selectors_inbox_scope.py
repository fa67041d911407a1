"""What the inbox's conversation and message lists share: the person's scope and the filters,
a search as a condition, the folder counters, and a page's keys (see selectors_inbox)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BigIntegerField, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from crm.models import Account, Contact, Deal, Role, User
from crm.tenancy import current_organization
from integrations.mail.models import (
    InboxFolder,
    ThreadLink,
    Visibility,
)
from integrations.mail.search import SearchQuery, search_hits, search_ids
from integrations.mail.selectors_inbox_rows import ConversationRow, MessageRow
from integrations.mail.selectors_inboxes import first_mailbox_inbox
from integrations.mail.sql import fetched, ids_condition, values_in
from integrations.mail.visibility import FULL, HIDDEN, METADATA, SUBJECT

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
# A search that finds at most this many conversations (or messages) is read as their ids.
SEARCH_IDS = 5000
LEVELS = {
    Visibility.PRIVATE: HIDDEN,
    Visibility.METADATA: METADATA,
    Visibility.SUBJECT: SUBJECT,
    Visibility.FULL: FULL,
}
Entity = Contact | Account | Deal
LINK_FIELDS: dict[type[Entity], str] = {Contact: "contact", Account: "account", Deal: "deal"}


@dataclass(frozen=True)
class InboxPage:
    results: list[ConversationRow] | list[MessageRow]
    total: int
    page: int
    limit: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


class InboxView:
    CONVERSATIONS = "conversations"
    MESSAGES = "messages"
    ALL = (CONVERSATIONS, MESSAGES)


class MailboxNotVisible(LookupError):
    """The mailbox does not exist in the organization, or the person may not see it."""


@dataclass(frozen=True)
class InboxFilters:
    folder: str = InboxFolder.INBOX
    view: str = InboxView.CONVERSATIONS
    query: SearchQuery = field(default_factory=SearchQuery)
    unread: bool | None = None  # True: unread only; False: read only
    mailbox_id: int | None = None
    shared_inbox_id: int | None = None
    assigned_to_id: int | None = None
    direction: str | None = None  # inbound | outbound
    entity: Entity | None = None

    @property
    def counted(self) -> bool:
        """Whether the folder counters know the total (no filter but folder and unread)."""
        return not (
            self.query
            or self.shared_inbox_id
            or self.assigned_to_id
            or self.direction
            or self.entity is not None
        )


# -- scope ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxAccess:
    id: int
    level: int
    private: bool


@dataclass(frozen=True)
class InboxScope:
    """The mailboxes listed, each at the person's level, and whether the team's rows list the
    ones that are not private."""

    mailboxes: dict[int, MailboxAccess]
    team: bool
    organization_mailboxes: int

    @classmethod
    def for_user(cls, user: User, mailbox_id: int | None = None) -> InboxScope:
        # One query: the mailboxes, each with whether the person is an owner or admin of the
        # organization (who sees everything, as ``VisibilityRules.everything`` says).
        organization_id = current_organization().pk
        rows = fetched(
            "SELECT b.id, b.visibility, b.owner_id, EXISTS (SELECT 1 FROM crm_membership u "
            "WHERE u.organization_id = %s AND u.user_id = %s AND u.role IN (%s, %s)) "
            "FROM mail_mailbox b WHERE b.organization_id = %s",
            [organization_id, user.pk, Role.OWNER.value, Role.ADMIN.value, organization_id],
        )
        seen: dict[int, MailboxAccess] = {}
        for pk, visibility, owner_id, everything in rows:
            level = FULL if everything or owner_id == user.pk else LEVELS[visibility]
            if level > HIDDEN:
                seen[pk] = MailboxAccess(pk, level, visibility == Visibility.PRIVATE)
        if mailbox_id is None:
            return cls(seen, team=True, organization_mailboxes=len(rows))
        if mailbox_id not in seen:
            raise MailboxNotVisible(mailbox_id)
        return cls({mailbox_id: seen[mailbox_id]}, team=False, organization_mailboxes=len(rows))

    @property
    def own_rows(self) -> list[int]:
        """Mailboxes listed through their own rows (beside the team's, or instead of them)."""
        if not self.team:
            return list(self.mailboxes)
        return sorted(m.id for m in self.mailboxes.values() if m.private)

    @property
    def mixed(self) -> bool:
        """Team rows and private mailboxes' rows together: a conversation may be in both."""
        return self.team and bool(self.own_rows)

    def readable(self, level: int) -> list[int] | None:
        """Mailboxes in scope whose mail shows at ``level`` at least; None: every mailbox of the
        organization (no condition needed)."""
        ids = sorted(m.id for m in self.mailboxes.values() if m.level >= level)
        return None if self.team and len(ids) == self.organization_mailboxes else ids


@dataclass(frozen=True)
class Found:
    """A search as a condition on ``thread_id`` or ``message_id``: the found ids themselves
    when there are at most SEARCH_IDS (``bounded``: their rows are read at once, for the
    total and the page), else the search as a subquery."""

    condition: Q
    bounded: bool

    @classmethod
    def of(cls, query: SearchQuery, scope: InboxScope, field: str) -> Found:
        if not query:
            return cls(Q(), bounded=False)
        hits = search_hits(query, field=field, mailbox_ids=scope.readable(query.level))
        ids = search_ids(hits, limit=SEARCH_IDS)
        if ids is None:
            return cls(Q(**{f"{field}__in": hits}), bounded=False)
        return cls(Q(**{f"{field}__in": values_in(ids)}), bounded=True)


def filtered_by_conversation(
    queryset: QuerySet[Any], filters: InboxFilters, thread: str = "thread"
) -> QuerySet[Any]:
    """The filters about the conversation itself — its record, assignee, shared inbox — on a
    queryset whose ``thread`` is the path to the MailThread."""
    if filters.entity is not None:
        field_name = LINK_FIELDS[type(filters.entity)]
        links = ThreadLink.objects.filter(
            thread_id=OuterRef(f"{thread}_id"), **{field_name: filters.entity.pk}
        )
        queryset = queryset.filter(Exists(links))
    if filters.assigned_to_id:
        queryset = queryset.filter(**{f"{thread}__assigned_to_id": filters.assigned_to_id})
    if filters.shared_inbox_id:
        inbox = Coalesce(
            f"{thread}__shared_inbox_id",
            first_mailbox_inbox(f"{thread}_id"),
            output_field=BigIntegerField(),
        )
        queryset = queryset.alias(inbox=inbox).filter(inbox=filters.shared_inbox_id)
    return queryset


def page_keys(
    branches: list[QuerySet[Any]], order: tuple[str, str], offset: int, limit: int, carry: str
) -> list[tuple[Any, ...]]:
    """The page's (time, id, ``carry``) keys: an index range per branch, merged."""
    fields = (order[0].lstrip("-"), order[1].lstrip("-"), carry)
    if len(branches) == 1:
        return list(branches[0].order_by(*order).values_list(*fields)[offset : offset + limit])
    keys = [k for b in branches for k in b.order_by(*order).values_list(*fields)[: offset + limit]]
    keys.sort(key=lambda k: (k[0], k[1]), reverse=True)
    return keys[offset : offset + limit]


def counters(scope_ids: list[int]) -> dict[str, dict[str, int]]:
    """Per folder, the scopes' counters summed over their slots."""
    condition, params = ids_condition("scope", scope_ids)
    rows = fetched(
        "SELECT folder, SUM(threads), SUM(unread_threads), SUM(messages), SUM(unread_messages) "  # noqa: S608 - fixed text
        f"FROM mail_foldercount WHERE organization_id = %s AND {condition} GROUP BY folder",
        [current_organization().pk, *params],
    )
    names = ("threads", "unread_threads", "messages", "unread_messages")
    return {
        folder: {name: int(total or 0) for name, total in zip(names, totals, strict=True)}
        for folder, *totals in rows
    }


def counted(counts: dict[str, int], unit: str, unread: bool | None) -> int:
    everything, unread_ones = counts.get(unit, 0), counts.get(f"unread_{unit}", 0)
    if unread is None:
        return everything
    return unread_ones if unread else everything - unread_ones


def rows_scope(scope: InboxScope) -> dict[str, Any]:
    """What the row builders need of the scope: each mailbox's level, and whether it is all."""
    return {
        "levels": {m.id: m.level for m in scope.mailboxes.values()},
        "every_mailbox": scope.readable(METADATA) is None,
    }
