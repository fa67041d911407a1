"""Thread bookkeeping shared by the sync store, the blocklist purge and the flag toggles."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Count, Max, Min

from crm.tenancy import current_organization
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
# One statement: the counts are computed where the rows are, and written only where they
# changed (a conversation a sync created with its page's messages already has its counts); the
# ids of the conversations that still hold messages come back.
_COUNT_IN_PLACE = f"""
WITH counted AS (
    SELECT thread_id, COUNT(*) AS n, MIN(sent_at) AS f, MAX(sent_at) AS l
    FROM "{Message._meta.db_table}" WHERE thread_id = ANY(%s) GROUP BY thread_id
), written AS (
    UPDATE "{MailThread._meta.db_table}" AS t
    SET message_count = c.n, first_message_at = c.f, last_message_at = c.l
    FROM counted AS c
    WHERE t.id = c.thread_id
        AND (t.message_count, t.first_message_at, t.last_message_at)
            IS DISTINCT FROM (c.n, c.f, c.l)
)
SELECT thread_id FROM counted
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


# -- recounts a sync run owes (PostgreSQL) ------------------------------------------------------

# Queue entries per draining transaction: bounded locks and bounded work per commit.
RECOUNT_CHUNK = 5000


def threads_recount_later(thread_ids: Iterable[int]) -> None:
    """Queue the conversations in ``mail_recount_pending`` (migration 0013), in the current
    transaction: ``threads_recount_pending`` recounts them once it has committed."""
    ids = sorted(set(thread_ids))
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mail_recount_pending (thread_id, organization_id) "
            "SELECT unnest(%s::bigint[]), %s",
            [array_param(ids), current_organization().pk],
        )


# SKIP LOCKED: two drains never take the same entry; each recounts what it took (the
# conversations' own locks order two recounts of one conversation).
_TAKE_PENDING = """
DELETE FROM mail_recount_pending WHERE ctid = ANY(ARRAY(
    SELECT ctid FROM mail_recount_pending WHERE organization_id = %s
    LIMIT %s FOR UPDATE SKIP LOCKED
))
RETURNING thread_id
"""


def threads_recount_pending(*, max_rows: int = RECOUNT_CHUNK) -> int:
    """Recount up to ``max_rows`` queued entries of the current organization, in the current
    transaction; returns how many entries were taken (0: nothing was owed)."""
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_PENDING, [current_organization().pk, max_rows])
        taken = [row[0] for row in cursor.fetchall()]
    threads_recount(taken)
    return len(taken)
