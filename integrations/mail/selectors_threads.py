"""Reads: the threads linked to a contact, account or deal, as one person may see them
(the mailboxes' visibility policy, per message: see ``integrations.mail.visibility``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)

from crm.models import Account, Contact, Deal, User
from integrations.mail.models import MailThread, Message, MessageCopy, Participant
from integrations.mail.visibility import (
    FULL,
    HIDDEN,
    LEVEL_NAMES,
    METADATA,
    SUBJECT,
    VisibilityRules,
)

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

Entity = Contact | Account | Deal
_LINK_FIELDS: dict[type[Entity], str] = {Contact: "contact", Account: "account", Deal: "deal"}


def visible_threads_for_entity(*, entity: Entity, user: User) -> QuerySet[MailThread]:
    """The threads linked to ``entity`` that ``user`` may see, newest first, each annotated
    with ``level`` (METADATA, SUBJECT, FULL), ``latest_snippet`` (of the newest message whose
    content they may see), ``visible_count`` and ``visible_last_at``."""
    return _visible_threads(entity, VisibilityRules.for_user(user))


def _visible_threads(entity: Entity, rules: VisibilityRules) -> QuerySet[MailThread]:
    threads = MailThread.objects.filter(**{f"links__{_LINK_FIELDS[type(entity)]}": entity})
    messages = Message.objects.filter(thread=OuterRef("pk")).order_by()
    snippet = messages.filter(rules.message_seen(rules.full)).order_by("-sent_at", "-pk")
    seen = messages.filter(rules.message_seen(rules.any)).values("thread")
    if rules.everything:
        level: Any = Value(FULL)
    else:
        copies = MessageCopy.objects.filter(message__thread=OuterRef("pk"))
        level = Case(
            When(Exists(copies.filter(rules.full)), then=Value(FULL)),
            When(Exists(copies.filter(rules.subject)), then=Value(SUBJECT)),
            When(Exists(copies.filter(rules.any)), then=Value(METADATA)),
            default=Value(HIDDEN),
            output_field=IntegerField(),
        )
    return (
        threads.annotate(
            level=level,
            latest_snippet=Subquery(snippet.values("snippet")[:1]),
            visible_count=Subquery(
                seen.annotate(n=Count("pk")).values("n"), output_field=IntegerField()
            ),
            visible_last_at=Subquery(seen.annotate(at=Max("sent_at")).values("at")),
        )
        .filter(level__gt=HIDDEN)
        .order_by("-last_message_at", "-pk")
    )


@dataclass(frozen=True)
class ThreadPerson:
    address: str
    name: str
    contact_id: int | None

    @property
    def label(self) -> str:
        return self.name or self.address


@dataclass(frozen=True)
class ThreadSummary:
    """One row of an Emails tab; ``subject`` and ``snippet`` are None when hidden."""

    id: int
    visibility: str
    subject: str | None
    snippet: str | None
    last_message_at: datetime | None
    message_count: int
    participants: list[ThreadPerson]

    @property
    def more_participants(self) -> int:
        return max(len(self.participants) - PARTICIPANTS_SHOWN, 0)

    @property
    def participants_shown(self) -> list[ThreadPerson]:
        return self.participants[:PARTICIPANTS_SHOWN]


PARTICIPANTS_SHOWN = 4


@dataclass(frozen=True)
class ThreadPage:
    results: list[ThreadSummary]
    total: int
    page: int
    limit: int
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", math.ceil(self.total / self.limit) if self.total else 0)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def previous_page(self) -> int:
        return self.page - 1

    @property
    def next_page(self) -> int:
        return self.page + 1


def threads_for_entity(
    *, entity: Entity, user: User, page: int = 1, limit: int = DEFAULT_LIMIT
) -> ThreadPage:
    """One page of the threads linked to ``entity`` as ``user`` may see them, newest first, in
    four queries whatever the page size."""
    limit = max(1, min(limit, MAX_LIMIT))
    rules = VisibilityRules.for_user(user)
    threads = _visible_threads(entity, rules)
    total = threads.count()
    pages = math.ceil(total / limit) if total else 1
    page = max(1, min(page, pages))
    rows = list(threads[(page - 1) * limit : page * limit])
    people = _people_of(rows, rules) if rows else {}
    return ThreadPage(
        results=[_summary(thread, people.get(thread.pk, [])) for thread in rows],
        total=total,
        page=page,
        limit=limit,
    )


def _summary(thread: Any, people: list[ThreadPerson]) -> ThreadSummary:
    level = thread.level
    return ThreadSummary(
        id=thread.pk,
        visibility=LEVEL_NAMES[level],
        subject=thread.subject if level >= SUBJECT else None,
        snippet=(thread.latest_snippet or "") if level >= FULL else None,
        last_message_at=thread.visible_last_at or thread.last_message_at,
        message_count=thread.visible_count or 0,
        participants=people,
    )


def _people_of(threads: list[MailThread], rules: VisibilityRules) -> dict[int, list[ThreadPerson]]:
    """Each thread's distinct participants on the messages the person may see, in order of
    appearance."""
    rows = (
        Participant.objects.filter(message__thread_id__in=[t.pk for t in threads])
        .filter(rules.message_seen(rules.any, "message_id"))
        .values("message__thread_id", "address")
        .annotate(
            display=Max("name"),
            contact=Max("contact_id"),
            first_at=Min("message__sent_at"),
            first_position=Min("position"),
        )
        .order_by("message__thread_id", "first_at", "first_position", "address")
    )
    people: dict[int, list[ThreadPerson]] = defaultdict(list)
    for row in rows:
        people[row["message__thread_id"]].append(
            ThreadPerson(row["address"], row["display"] or "", row["contact"])
        )
    return dict(people)
