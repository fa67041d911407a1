"""What people decide about a thread by hand: a CRM link they removed, the tasks it concerns."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from crm.tenancy import TenantOwned
from integrations.mail.models.matching import OneRecord, one_record_per_thread
from integrations.mail.models.messages import MailThread


class ThreadLinkSuppression(OneRecord):
    """Someone unlinked the thread from this contact, account or deal (exactly one of them):
    matching and relinking never link them again until someone links them by hand."""

    thread = models.ForeignKey(MailThread, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = one_record_per_thread(
            check="link_suppression_one_entity", unique="unique_suppression_{kind}"
        )

    def __str__(self) -> str:
        return f"Thread {self.thread_id} unlinked"


class ThreadTask(TenantOwned):
    """A CRM task about a conversation (seed 004's task links)."""

    thread = models.ForeignKey(MailThread, on_delete=models.CASCADE, related_name="task_links")
    task = models.ForeignKey("crm.Task", on_delete=models.CASCADE, related_name="thread_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["thread", "task"], name="unique_thread_task")
        ]

    def __str__(self) -> str:
        return f"Thread {self.thread_id} ↔ task {self.task_id}"
