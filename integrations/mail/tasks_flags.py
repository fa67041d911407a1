"""Celery tasks of read/star/archive write-through: thin, taking ids, calling flags_write.

Registered with the worker through CELERY_IMPORTS (autodiscovery only finds ``tasks.py``).
"""

from __future__ import annotations

from celery import shared_task

from crm.models import Organization
from crm.tasks import tenant_task
from integrations.mail import flags_write
from integrations.providers.base import ProviderUnavailable
from integrations.providers.mail import ProviderThrottled

RETRIED = (
    flags_write.FlagWriteBusy,
    flags_write.FlagWriteIncomplete,
    ProviderThrottled,
    ProviderUnavailable,
)


# Not atomic: the provider is called between the transactions that read and settle changes.
@tenant_task(
    atomic=False,
    autoretry_for=RETRIED,
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=12,
)
def mailbox_flags_write_task(organization: Organization, mailbox_id: int) -> int:
    outcome = flags_write.mailbox_flags_write(mailbox_id=mailbox_id)
    return outcome.written if outcome else 0


@shared_task(name="integrations.mail.tasks_flags.flags_pending_flush")
def flags_pending_flush() -> int:
    """The safety net: queue a write for every mailbox whose changes no task is writing (a
    task that ran out of retries, a connection reconnected since)."""
    due = flags_write.mailboxes_with_pending_flags()
    for organization_id, mailbox_id in due:
        mailbox_flags_write_task.delay(organization_id, mailbox_id)
    return len(due)
