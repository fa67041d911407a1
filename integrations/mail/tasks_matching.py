"""Relinking past mail in the background, queued once per transaction.

CRM writes (a contact saved, a domain added, …) call ``relink_later``; everything one transaction
asks for is gathered and queued as one task per organization when it commits (nothing when it
rolls back), so importing a thousand contacts queues a handful of tasks, not thousands.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from crm.models import Organization
from crm.tasks import tenant_task
from integrations.mail.matching_relink import mail_relink

KINDS = ("addresses", "domains", "contact_ids", "account_ids", "deal_ids", "own_domains")
# Items of one kind per task: bounded messages, bounded work per transaction.
TASK_ITEMS = 500


@tenant_task()
def mail_relink_task(organization: Organization, **items: list[Any]) -> dict[str, int]:
    return mail_relink(**{kind: items.get(kind, []) for kind in KINDS}).as_dict()


class _Pending:
    """What one transaction asked to relink, by organization."""

    def __init__(self) -> None:
        self.items: dict[int, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.sent = False

    def add(self, organization_id: int, items: dict[str, Iterable[Any]]) -> None:
        for kind, values in items.items():
            self.items[organization_id][kind].update(v for v in values if v not in (None, ""))

    def flush(self) -> None:
        self.sent = True
        # The organization itself may have been deleted in the same transaction.
        alive = set(
            Organization.objects.filter(pk__in=list(self.items)).values_list("pk", flat=True)
        )
        for organization_id, items in self.items.items():
            if organization_id in alive:
                for chunk in _chunks(items):
                    mail_relink_task.delay(organization_id, **chunk)


def _chunks(items: dict[str, set[Any]]) -> list[dict[str, list[Any]]]:
    lists = {kind: sorted(values) for kind, values in items.items() if values}
    longest = max((len(values) for values in lists.values()), default=0)
    return [
        {kind: values[i : i + TASK_ITEMS] for kind, values in lists.items() if values[i:]}
        for i in range(0, longest, TASK_ITEMS)
    ]


_local = threading.local()


def _queued(pending: _Pending) -> bool:
    """Still waiting for this transaction's commit: not run, not dropped by a rollback."""
    connection = transaction.get_connection()
    return not pending.sent and any(entry[1] == pending.flush for entry in connection.run_on_commit)


def relink_later(*, organization_id: int, **items: Iterable[Any]) -> None:
    """Relink past mail for these ``addresses``, ``domains``, ``contact_ids``, ``account_ids``,
    ``deal_ids`` and ``own_domains`` (see ``mail_relink``) once the current transaction
    commits."""
    unknown = set(items) - set(KINDS)
    if unknown:
        raise TypeError(f"relink_later() got unknown kinds {sorted(unknown)}")
    pending: _Pending | None = getattr(_local, "pending", None)
    if pending is None or not transaction.get_connection().in_atomic_block or not _queued(pending):
        pending = _Pending()
        _local.pending = pending
        pending.add(organization_id, items)
        # robust: a broker outage must not fail the request whose work is already committed.
        transaction.on_commit(pending.flush, robust=True)
        return
    pending.add(organization_id, items)
