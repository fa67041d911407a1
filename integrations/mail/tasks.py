"""Celery tasks of the sync engine: thin, taking ids, calling the engine and the scheduler."""

from __future__ import annotations

from celery import shared_task

from crm.models import Organization
from crm.tasks import tenant_task
from integrations.mail.sync import scheduler
from integrations.mail.sync.engine import mailbox_sync


@tenant_task(atomic=False, acks_late=True)
def mailbox_sync_task(organization: Organization, run_id: int) -> None:
    mailbox_sync(run_id=run_id)


@shared_task(name="integrations.mail.tasks.mailboxes_poll_due")
def mailboxes_poll_due() -> int:
    return scheduler.mailboxes_poll_due()


@shared_task(name="integrations.mail.tasks.sync_runs_recover")
def sync_runs_recover() -> int:
    return scheduler.sync_runs_recover()


@shared_task(name="integrations.mail.tasks.sync_failures_retry")
def sync_failures_retry() -> int:
    return scheduler.sync_failures_retry()
