"""Reads: a conversation's CRM links and task links (two queries each way, N+1-free)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from integrations.mail.models import MailThread, ThreadLink, ThreadTask


@dataclass(frozen=True)
class LinkedEntity:
    entity_type: str  # contact | account | deal
    entity_id: int
    name: str
    source: str
    created_at: datetime


def linked_entity(link: ThreadLink) -> LinkedEntity:
    """A link (its contact, account and deal loaded) as the record it points at."""
    if link.contact is not None:
        kind, pk, name = "contact", link.contact.pk, str(link.contact)
    elif link.account is not None:
        kind, pk, name = "account", link.account.pk, link.account.name
    else:
        assert link.deal is not None  # the model's check constraint: exactly one entity
        kind, pk, name = "deal", link.deal.pk, link.deal.name
    return LinkedEntity(kind, pk, name, link.source, link.created_at)


def thread_links(*, thread: MailThread) -> list[LinkedEntity]:
    """The contacts, accounts and deals ``thread`` is linked to, in that order, by name."""
    links = ThreadLink.objects.filter(thread=thread).select_related("contact", "account", "deal")
    order = {"contact": 0, "account": 1, "deal": 2}
    return sorted(
        (linked_entity(link) for link in links),
        key=lambda e: (order[e.entity_type], e.name.lower(), e.entity_id),
    )


def thread_tasks(*, thread: MailThread) -> QuerySet[ThreadTask]:
    """The task links of ``thread``, oldest first, with their tasks."""
    return ThreadTask.objects.filter(thread=thread).select_related("task")
