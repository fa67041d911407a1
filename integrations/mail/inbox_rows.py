"""The inbox's listing rows and folder counters, recomputed from the copies of the conversations
that changed.

``inbox_rows_refresh(thread_ids)`` is called by ``threads_recount`` (the one funnel every change
of copies goes through: the sync store, the blocklist purge, the read/star/archive toggles). It
locks the conversations, reads what their rows add to the counters, rewrites their
``MailboxThread`` rows — one per mailbox holding them, one for the team (the mailboxes that are
not private) — with one INSERT … SELECT over their copies (``inbox_sql``), and adds the
difference to the ``FolderCount`` counters: four queries whatever the number of conversations
on PostgreSQL (the old rows' contributions come back from their DELETE, the new rows' from
their INSERT), six on SQLite, and no Python per row (the sync pays for it on every page).

A mailbox that turns private (or stops being private) has its conversations' team rows
rebuilt; a deleted mailbox takes its rows and counters with it and the team rows are recounted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from crm.tenancy import current_organization, current_organization_or_none, tenant_context
from integrations.mail.inbox_sql import (
    ROW_COLUMNS,
    contributions_by_folder,
    contributions_sql,
    rows_insert_sql,
    rows_replaced_sql,
    rows_sql,
    rows_written_sql,
)
from integrations.mail.models import (
    FolderCount,
    Mailbox,
    MailboxThread,
    MailThread,
    Visibility,
)
from integrations.mail.sql import ids_condition, values_in

SLOTS = 16
# Chunks keep every IN list far below the databases' parameter limits (a big purge).
REFRESH_CHUNK = 900


def inbox_rows_refresh(thread_ids: Iterable[int]) -> None:
    """Recompute the listing rows and counters of these conversations from their copies."""
    ids = sorted(set(thread_ids))
    for start in range(0, len(ids), REFRESH_CHUNK):
        _refresh(ids[start : start + REFRESH_CHUNK])


def _refresh(ids: list[int]) -> None:
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        # Two recounts of one conversation must not both start from the same old rows.
        list(
            MailThread.objects.filter(pk__in=values_in(ids))
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        rows_where, params = ids_condition("thread_id", ids)
        copies_where, _ = ids_condition("m.thread_id", ids)
        if connection.vendor == "postgresql":
            cursor.execute(rows_replaced_sql(rows_where), params)
            before = contributions_by_folder(cursor.fetchall())
            cursor.execute(rows_written_sql(copies_where), params)
            after = contributions_by_folder(cursor.fetchall())
        else:
            cursor.execute(contributions_sql(rows_where), params)
            before = contributions_by_folder(cursor.fetchall())
            MailboxThread.objects.filter(thread_id__in=values_in(ids)).delete()
            cursor.execute(rows_insert_sql(copies_where), params)
            cursor.execute(contributions_sql(rows_where), params)
            after = contributions_by_folder(cursor.fetchall())
        deltas: dict[tuple[int, str], list[int]] = {}
        for key in before.keys() | after.keys():
            old, new = before.get(key, [0, 0, 0, 0]), after.get(key, [0, 0, 0, 0])
            difference = [n - o for n, o in zip(new, old, strict=True)]
            if any(difference):
                deltas[(key[1], key[2])] = difference
        _counters_add(deltas)


def conversations_combined(
    thread_ids: Sequence[int], mailbox_ids: Sequence[int]
) -> dict[int, MailboxThread]:
    """The conversations as these mailboxes hold them together (one unsaved row each)."""
    if not thread_ids or not mailbox_ids:
        return {}
    threads_where, thread_params = ids_condition("m.thread_id", thread_ids)
    mailboxes_where, mailbox_params = ids_condition("c.mailbox_id", list(mailbox_ids))
    sql = rows_sql(f"{threads_where} AND {mailboxes_where}", combined=True)
    columns = ", ".join(ROW_COLUMNS)
    rows = MailboxThread.objects.raw(
        f"SELECT NULL AS id, {columns} FROM ({sql}) combined",  # noqa: S608 - fixed text
        [*thread_params, *mailbox_params],
    )
    return {row.thread_id: row for row in rows}


def _counters_add(deltas: dict[tuple[int, str], list[int]]) -> None:
    """Add to the counters of this process's slot, creating them on first use."""
    if not deltas:
        return
    organization_id = current_organization().pk
    slot = os.getpid() % SLOTS
    table = FolderCount._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(deltas))
    params: list[Any] = []
    for (scope, folder), counts in sorted(deltas.items()):
        params += [organization_id, scope, folder, slot, *counts]
    sums = ", ".join(
        f'{name} = "{table}".{name} + excluded.{name}'
        for name in ("threads", "unread_threads", "messages", "unread_messages")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{table}" (organization_id, scope, folder, slot, threads, '  # noqa: S608
            f"unread_threads, messages, unread_messages) VALUES {values} "
            f"ON CONFLICT (organization_id, scope, folder, slot) DO UPDATE SET {sums}",
            params,
        )


# -- mailboxes that change their privacy or go ------------------------------------------------


def _is_private(visibility: str | None) -> bool:
    return visibility == Visibility.PRIVATE


def inbox_rows_rebuild_mailbox(*, mailbox_id: int) -> None:
    """Recount every conversation the mailbox holds (its privacy changed: the team's rows do)."""
    threads = MailboxThread.objects.filter(scope=mailbox_id).order_by("thread_id")
    inbox_rows_refresh(threads.values_list("thread_id", flat=True))


def _as_its_organization(mailbox: Mailbox) -> AbstractContextManager[None]:
    """The mailbox's organization in context (the admin deletes across tenants)."""
    current = current_organization_or_none()
    if current is not None and current.pk == mailbox.organization_id:
        return nullcontext()
    return tenant_context(mailbox.organization)


@receiver(pre_save, sender=Mailbox, dispatch_uid="inbox-mailbox-privacy-before")
def _mailbox_privacy_before(
    sender: Any, instance: Mailbox, raw: bool = False, update_fields: Any = None, **kw: Any
) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and "visibility" not in update_fields:
        return
    with _as_its_organization(instance):
        before = Mailbox.objects.filter(pk=instance.pk).values_list("visibility", flat=True)
        instance._inbox_was_private = _is_private(before.first())  # type: ignore[attr-defined]


@receiver(post_save, sender=Mailbox, dispatch_uid="inbox-mailbox-privacy-changed")
def _mailbox_privacy_changed(sender: Any, instance: Mailbox, raw: bool = False, **kw: Any) -> None:
    was_private = instance.__dict__.pop("_inbox_was_private", None)
    if raw or was_private is None or was_private == _is_private(instance.visibility):
        return
    with _as_its_organization(instance):
        inbox_rows_rebuild_mailbox(mailbox_id=instance.pk)


@receiver(pre_delete, sender=Mailbox, dispatch_uid="inbox-mailbox-threads-before-delete")
def _mailbox_threads_before_delete(sender: Any, instance: Mailbox, **kw: Any) -> None:
    with _as_its_organization(instance):
        rows = MailboxThread.objects.filter(scope=instance.pk)
        instance._inbox_threads = list(rows.values_list("thread_id", flat=True))  # type: ignore[attr-defined]


@receiver(post_delete, sender=Mailbox, dispatch_uid="inbox-mailbox-deleted")
def _mailbox_deleted(sender: Any, instance: Mailbox, **kw: Any) -> None:
    """Its copies are gone: its rows and counters go, the team's rows are recounted."""
    thread_ids: list[int] = instance.__dict__.pop("_inbox_threads", [])
    with _as_its_organization(instance):
        MailboxThread.objects.filter(scope=instance.pk).delete()
        FolderCount.objects.filter(scope=instance.pk).delete()
        inbox_rows_refresh(thread_ids)
