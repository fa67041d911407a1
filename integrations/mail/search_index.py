"""Full-text indexing of new mail, after the transaction that stored it (PostgreSQL only).

A stored message is queued in ``mail_search_pending`` by a trigger (migration 0009) and indexed
by ``mail_search_index``, called from three places:

- ``search_index_later``: the store's call once it created messages; one task per
  organization and transaction, queued when it commits, drains that organization's queue;
- ``SearchNudge``: a sync run's instead, committing page after page: one task per few seconds
  of pages (each drains the whole queue, so the pages in between ride along), and one after
  the last;
- ``search_index_pending_drain``: the beat's safety net (a task lost, a worker crashed);
- ``search_index_now``: the search itself, before it reads the index, so a search right after a
  sync finds everything (an empty queue costs one index probe).

Two drains never index the same message twice: each takes its rows with SKIP LOCKED. On SQLite
there is no index (search reads the messages) and all of this does nothing.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from django.db import connection, transaction

from crm.models import Organization
from crm.tasks import tenant_task
from crm.tenancy import all_tenants, tenant_atomic

logger = logging.getLogger(__name__)

# Messages per transaction of the task: bounded locks and bounded work per commit.
TASK_CHUNK = 1000
# What a search indexes before it reads: a sync's worth, still one short statement.
SEARCH_CHUNK = 5000


def search_index_now(organization_id: int, *, max_rows: int = SEARCH_CHUNK) -> int:
    """Index up to ``max_rows`` queued messages of the organization, in the current transaction
    (which runs as that organization); returns how many were indexed."""
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT mail_search_index(%s, %s)", [organization_id, max_rows])
        return int(cursor.fetchone()[0])


@tenant_task(atomic=False)
def search_index_task(organization: Organization) -> int:
    """Drain the organization's queue, one transaction per chunk."""
    total = 0
    while True:
        with tenant_atomic(organization):
            indexed = search_index_now(organization.pk, max_rows=TASK_CHUNK)
        total += indexed
        if indexed < TASK_CHUNK:
            return total


def organizations_with_pending_search() -> list[int]:
    """Ids of the organizations with queued messages. Cross-tenant (beat)."""
    if connection.vendor != "postgresql":
        return []
    with all_tenants(), connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT organization_id FROM mail_search_pending")
        return [row[0] for row in cursor.fetchall()]


@shared_task(name="integrations.mail.search_index.search_index_pending_drain")
def search_index_pending_drain() -> int:
    """The safety net: a drain for every organization whose queue is not empty."""
    organization_ids = organizations_with_pending_search()
    for organization_id in organization_ids:
        search_index_task.delay(organization_id)
    return len(organization_ids)


class _Pending:
    """The organizations one transaction stored new mail for."""

    def __init__(self) -> None:
        self.organization_ids: set[int] = set()
        self.sent = False

    def flush(self) -> None:
        self.sent = True
        # The organization itself may have been deleted in the same transaction.
        alive = Organization.objects.filter(pk__in=self.organization_ids).order_by("pk")
        for organization_id in alive.values_list("pk", flat=True):
            search_index_task.delay(organization_id)


_local = threading.local()


def _queued(pending: _Pending) -> bool:
    """Still waiting for this transaction's commit: not run, not dropped by a rollback."""
    on_commit = transaction.get_connection().run_on_commit
    return not pending.sent and any(entry[1] == pending.flush for entry in on_commit)


def search_index_later(organization_id: int) -> None:
    """Index the organization's newly stored mail once the current transaction commits: one
    task per organization however many pages the transaction stored."""
    if connection.vendor != "postgresql":
        return
    pending: _Pending | None = getattr(_local, "pending", None)
    if pending is None or not transaction.get_connection().in_atomic_block or not _queued(pending):
        pending = _Pending()
        _local.pending = pending
        pending.organization_ids.add(organization_id)
        # robust: a broker outage must not fail the sync; the beat drains what is left.
        transaction.on_commit(pending.flush, robust=True)
        return
    pending.organization_ids.add(organization_id)


class SearchNudge:
    """Indexing for a writer that commits page after page (a sync run): ``committed`` after
    each page that stored new messages, ``finish`` once the last one committed.

    A task drains the organization's whole queue, so one per ``INTERVAL`` seconds indexes
    every page in between; ``finish`` queues one for what the last ones stored. Searching
    indexes what is still queued first, so a search never misses a stored message."""

    INTERVAL = 2.0

    def __init__(self, organization_id: int) -> None:
        self.organization_id = organization_id
        self.owed = False
        self.queued_at: float | None = None

    def committed(self, created: int) -> None:
        self.owed = self.owed or created > 0
        now = time.monotonic()
        if self.owed and (self.queued_at is None or now - self.queued_at >= self.INTERVAL):
            self._queue(now)

    def finish(self) -> None:
        if self.owed:
            self._queue(time.monotonic())

    def _queue(self, now: float) -> None:
        self.owed, self.queued_at = False, now
        if connection.vendor != "postgresql":
            return
        try:
            search_index_task.delay(self.organization_id)
        except Exception:  # a broker outage must not fail the sync: the beat drains the rest
            logger.exception("queueing search indexing failed")
