"""Thread bookkeeping shared by the sync store, the blocklist purge and the flag toggles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Count, Max, Min

from integrations.mail.inbox_rows import inbox_rows_refresh
from integrations.mail.models import MailThread, Message
from integrations.mail.sql import array_param, values_in


def threads_recount(thread_ids: Iterable[int]) -> set[int]:
    """Recount threads after their copies changed: their aggregates, their inbox rows and
    folder counters; threads left empty go. Returns the rest."""
    ids = set(thread_ids)
    if not ids:
        return set()
    # Before the empty threads go: their rows leave the counters too.
    inbox_rows_refresh(ids)
    if connection.vendor == "postgresql":
        remaining = _threads_count_in_place(sorted(ids))
    else:
        remaining = _threads_count_read_write(ids)
    if ids - remaining:
        MailThread.objects.filter(pk__in=values_in(list(ids - remaining))).delete()
    return remaining


COUNT_FIELDS = ["message_count", "first_message_at", "last_message_at"]
# One statement: the counts are computed where the rows are and written in the same pass; the
# thread ids that still hold messages come back.
_COUNT_IN_PLACE = f"""
UPDATE "{MailThread._meta.db_table}" AS t
SET message_count = v.n, first_message_at = v.f, last_message_at = v.l
FROM (
    SELECT thread_id, COUNT(*) AS n, MIN(sent_at) AS f, MAX(sent_at) AS l
    FROM "{Message._meta.db_table}" WHERE thread_id = ANY(%s) GROUP BY thread_id
) AS v
WHERE t.id = v.thread_id
RETURNING t.id
"""  # noqa: S608 - table names from the models


def _threads_count_in_place(ids: Sequence[int]) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_IN_PLACE, [array_param(ids)])
        return {row[0] for row in cursor.fetchall()}


def _threads_count_read_write(ids: set[int]) -> set[int]:
    """The same with one grouped read and Django's bulk_update (SQLite)."""
    rows = list(
        Message.objects.filter(thread_id__in=values_in(list(ids)))
        .order_by()
        .values("thread_id")
        .annotate(n=Count("id"), first=Min("sent_at"), last=Max("sent_at"))
        .values_list("thread_id", "n", "first", "last")
    )
    threads = [
        MailThread(pk=pk, message_count=n, first_message_at=first, last_message_at=last)
        for pk, n, first, last in rows
    ]
    MailThread.objects.bulk_update(
        threads, ["message_count", "first_message_at", "last_message_at"]
    )
    return {row[0] for row in rows}
