"""Reads: shared inboxes, and the conversations a person may act on.

- ``shared_inbox_list()`` / ``shared_inbox_by_key(key=...)``: the organization's team inboxes
  (the default first) with their assignees and mailbox counts; ``key`` is an id or ``default``.
- ``thread_for_user(user=..., thread_id=...)``: a conversation the person may see at some level
  (the mailboxes' visibility policies), or None: the one access check of every thread action.
- ``threads_with_inbox(threads)``: annotates ``inbox_id``, the conversation's shared inbox. A
  thread is routed to its first mailbox's inbox; until something stores that on the thread
  (the sync store, a move when an inbox is deleted) the mailbox's inbox is read instead.
"""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from crm.models import Membership, User
from crm.tenancy import current_organization
from integrations.mail.models import MailThread, MessageCopy, SharedInbox, SharedInboxAssignee
from integrations.mail.visibility import VisibilityRules

DEFAULT_KEY = "default"


def shared_inbox_list() -> QuerySet[SharedInbox]:
    """Every shared inbox of the organization, the default first, then by name; each with
    ``mailbox_count`` and its ``SharedInboxAssignee`` rows prefetched (three queries)."""
    assignees = SharedInboxAssignee.objects.order_by("user_id")
    team = Prefetch("sharedinboxassignee_set", queryset=assignees, to_attr="assignee_rows")
    return (
        SharedInbox.objects.prefetch_related(team)
        .annotate(mailbox_count=Count("mailboxes"))
        .order_by("-is_default", "name", "pk")
    )


def shared_inbox_by_key(*, key: str) -> SharedInbox | None:
    """The inbox with id ``key`` (or the default one for ``default``) of this organization."""
    inboxes = shared_inbox_list()
    if key == DEFAULT_KEY:
        return inboxes.filter(is_default=True).first()
    return inboxes.filter(pk=int(key)).first() if key.isdigit() else None


def thread_for_user(*, user: User, thread_id: int) -> MailThread | None:
    """The thread if ``user`` (a member of the organization) may see any of its messages."""
    threads = MailThread.objects.filter(pk=thread_id)
    rules = VisibilityRules.for_user(user)
    if not rules.everything:
        copies = MessageCopy.objects.filter(message__thread=OuterRef("pk")).filter(rules.any)
        threads = threads.filter(Exists(copies))
    return threads.first()


def thread_visible_to_member(*, thread: MailThread, user_id: int) -> User | None:
    """The member of the organization with id ``user_id`` if they may see ``thread``."""
    membership = (
        Membership.objects.select_related("user")
        .filter(organization=current_organization(), user_id=user_id)
        .first()
    )
    if membership is None:
        return None
    if thread_for_user(user=membership.user, thread_id=thread.pk) is None:
        return None
    return membership.user


def first_mailbox_inbox(thread: str = "pk") -> Subquery:
    """The shared inbox of the mailbox that first received the thread named by the outer
    query's ``thread`` (the MailThread's id)."""
    copies = MessageCopy.objects.filter(
        message__thread_id=OuterRef(thread), mailbox__shared_inbox__isnull=False
    )
    return Subquery(copies.order_by("received_at", "pk").values("mailbox__shared_inbox_id")[:1])


def threads_with_inbox(threads: QuerySet[MailThread]) -> QuerySet[MailThread]:
    """``threads`` annotated with ``inbox_id``: the thread's own shared inbox, else the one of
    the mailbox that first received it."""
    return threads.annotate(
        inbox_id=Coalesce("shared_inbox_id", first_mailbox_inbox(), output_field=BigIntegerField())
    )
