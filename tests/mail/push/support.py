"""What the push tests share: webhook paths, captured task queues, waiting, reading back."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from integrations.mail.models import Mailbox, RunTrigger, SyncRun
from tests.conftest import Tenant

T = TypeVar("T")
GOOGLE_WEBHOOK = "/api/v1/integrations/webhooks/google"
MICROSOFT_WEBHOOK = "/api/v1/integrations/webhooks/microsoft"


@dataclass
class Queued:
    """Tasks queued instead of run: the engine stays out of these tests."""

    syncs: list[tuple[Any, ...]]
    refreshes: list[tuple[Any, ...]]


def wait_for(check: Callable[[], T], timeout: float = 10.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()


def push_runs(tenant: Tenant, mailbox: Mailbox) -> list[SyncRun]:
    with tenant.scope():
        return list(SyncRun.objects.filter(mailbox=mailbox, trigger=RunTrigger.PUSH))


def reloaded(tenant: Tenant, mailbox: Mailbox) -> Mailbox:
    with tenant.scope():
        return Mailbox.objects.get(pk=mailbox.pk)


def rfc822(to: str, subject: str = "Pricing for next year") -> str:
    return (
        "From: Carol Buyer <carol@customer.test>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@customer.test>\r\n"
        "Date: Mon, 2 Mar 2026 09:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Could you send the updated quote?\r\n"
    )
