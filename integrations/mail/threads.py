"""Thread bookkeeping shared by the sync store, the blocklist purge and the flag toggles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Count, Max, Min

from integrations.mail.inbox_rows import inbox_rows_refresh
from integrations.mail.models import MailThread, Message
from integrations.mail.sql import values_in


def threads_recount(thread_ids: Iterable[int]) -> set[int]:
    """Recount threads after their copies changed: their aggregates (one grouped read, one
    write), their inbox rows and folder counters; threads left empty go. Returns the rest."""
    ids = set(thread_ids)
    if not ids:
        return set()
    # Before the empty threads go: their rows leave the counters too.
    inbox_rows_refresh(ids)
    rows = list(
        Message.objects.filter(thread_id__in=values_in(list(ids)))
        .order_by()
        .values("thread_id")
        .annotate(n=Count("id"), first=Min("sent_at"), last=Max("sent_at"))
        .values_list("thread_id", "n", "first", "last")
    )
    remaining = {row[0] for row in rows}
    if ids - remaining:
        MailThread.objects.filter(pk__in=list(ids - remaining)).delete()
    if rows:
        _threads_set_counts(rows)
    return remaining


def _threads_set_counts(rows: Sequence[tuple[int, int, Any, Any]]) -> None:
    """message_count / first / last of many threads in one statement.

    PostgreSQL joins a VALUES list (a correlated subquery per thread slowed down as the table
    grew); other databases use Django's bulk_update.
    """
    if connection.vendor != "postgresql":
        threads = [
            MailThread(pk=pk, message_count=n, first_message_at=first, last_message_at=last)
            for pk, n, first, last in rows
        ]
        MailThread.objects.bulk_update(
            threads, ["message_count", "first_message_at", "last_message_at"]
        )
        return
    values = ", ".join(["(%s::bigint, %s::integer, %s::timestamptz, %s::timestamptz)"] * len(rows))
    table = MailThread._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'UPDATE "{table}" AS t SET message_count = v.n, first_message_at = v.f, '  # noqa: S608
            f"last_message_at = v.l FROM (VALUES {values}) AS v(id, n, f, l) WHERE t.id = v.id",
            [item for row in rows for item in row],
        )
