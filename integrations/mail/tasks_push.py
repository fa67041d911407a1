"""Celery tasks of push: thin, taking ids, calling ``integrations.mail.push``.

Registered with the worker through CELERY_IMPORTS (autodiscovery only finds ``tasks.py``).
"""

from __future__ import annotations

from celery import shared_task

from crm.models import Organization
from crm.tasks import tenant_task
from integrations.mail import push
from integrations.mail.models import Mailbox


# Not atomic: creating a Graph subscription waits for Microsoft to call our webhook back.
@tenant_task(atomic=False)
def mailbox_push_refresh_task(
    organization: Organization, mailbox_id: int, recreate: bool = False
) -> bool:
    mailbox = Mailbox.objects.select_related("connection").filter(pk=mailbox_id).first()
    if mailbox is None:
        return False
    return push.push_refresh(mailbox=mailbox, recreate=recreate)


@shared_task(name="integrations.mail.tasks_push.push_renew_due")
def push_renew_due() -> int:
    return push.push_renew_due()
