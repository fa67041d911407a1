"""Writes: what people link to a conversation by hand.

- ``thread_link_add`` / ``thread_link_remove``: the thread on a contact's, account's or deal's
  timeline. A link added by hand is ``manual`` (relinking never removes it); a removed link is
  remembered as a ``ThreadLinkSuppression`` so matching and relinking do not bring it back
  (``matching_resolve.links_unsuppressed``) until someone links it by hand again.
- ``thread_task_add`` / ``thread_task_remove``: a CRM task about the conversation (seed 004).
"""

from __future__ import annotations

from django.db import transaction

from crm.models import Task, User
from integrations.mail.matching_relink import ENTITY_FIELDS, Entity
from integrations.mail.models import (
    LinkSource,
    MailThread,
    ThreadLink,
    ThreadLinkSuppression,
    ThreadTask,
)


@transaction.atomic
def thread_link_add(
    *, thread: MailThread, entity: Entity, user: User | None
) -> tuple[ThreadLink, bool]:
    """Link ``thread`` to ``entity`` by hand (an automatic link becomes manual). Returns the
    link and whether it is new."""
    on_entity = {ENTITY_FIELDS[type(entity)]: entity}
    ThreadLinkSuppression.objects.filter(thread=thread, **on_entity).delete()
    link, created = ThreadLink.objects.get_or_create(
        thread=thread, **on_entity, defaults={"source": LinkSource.MANUAL, "created_by": user}
    )
    if not created and link.source != LinkSource.MANUAL:
        link.source, link.created_by = LinkSource.MANUAL, user
        link.save(update_fields=["source", "created_by"])
    return link, created


@transaction.atomic
def thread_link_remove(*, thread: MailThread, entity: Entity, user: User | None) -> bool:
    """Unlink ``thread`` from ``entity`` for good; False when they were not linked."""
    on_entity = {ENTITY_FIELDS[type(entity)]: entity}
    deleted, _ = ThreadLink.objects.filter(thread=thread, **on_entity).delete()
    if not deleted:
        return False
    ThreadLinkSuppression.objects.get_or_create(
        thread=thread, **on_entity, defaults={"created_by": user}
    )
    return True


def thread_task_add(
    *, thread: MailThread, task: Task, user: User | None
) -> tuple[ThreadTask, bool]:
    """Link ``task`` to ``thread``; linking it again changes nothing. Returns the link and
    whether it is new."""
    return ThreadTask.objects.get_or_create(thread=thread, task=task, defaults={"created_by": user})


def thread_task_remove(*, thread: MailThread, task_id: int) -> bool:
    """Unlink the task from ``thread``; False when it was not linked."""
    deleted, _ = ThreadTask.objects.filter(thread=thread, task_id=task_id).delete()
    return bool(deleted)
