"""Sync through a real Celery worker on Redis, for both providers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.utils import timezone

from crm.tenancy import tenant_context
from integrations.mail.models import Mailbox, RunTrigger, SyncRun
from integrations.mail.services import sync_request
from integrations.mail.sync.engine import window_for
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.sync.harness import (
    FINISHED,
    differences,
    expected_google,
    expected_microsoft,
    google_mailbox,
    microsoft_mailbox,
    stored,
)
from tests.sync.worker import Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PROVIDERS = ["google", "microsoft"]


def start_sync(org: Tenant, mailbox: Mailbox, **kwargs: Any) -> int:
    with tenant_context(org.organization):
        return sync_request(mailbox=mailbox, trigger=RunTrigger.MANUAL, **kwargs).pk


def wait_for(org: Tenant, run_id: int, timeout: float = 120) -> SyncRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with tenant_context(org.organization):
            run = SyncRun.objects.get(pk=run_id)
        if run.status in FINISHED:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish: {run.status} {run.folders}")


def mailbox_for(
    provider: str, org: Tenant, providers: Providers, count: int, **fields: Any
) -> Mailbox:
    if provider == "google":
        providers.sandbox.google.fill(GOOGLE_USER, seed=11, count=count)
        return google_mailbox(org, providers.sandbox, GOOGLE_USER, **fields)
    providers.sandbox.microsoft.fill(MICROSOFT_USER, seed=11, count=count)
    return microsoft_mailbox(
        org, providers.sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields
    )


def expected(provider: str, providers: Providers) -> dict[str, Any]:
    if provider == "google":
        return expected_google(providers.sandbox, GOOGLE_USER)
    return expected_microsoft(providers.sandbox, MICROSOFT_USER)


def change_mailbox(provider: str, providers: Providers) -> None:
    """New, deleted, read, starred and moved messages at the provider."""
    sandbox = providers.sandbox
    raw = (
        "From: New Lead <lead@prospect.test>\r\nTo: {to}\r\nSubject: Fresh enquiry\r\n"
        "Message-ID: <fresh-{n}@prospect.test>\r\n"
        "Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n\r\nHi\r\n"
    )
    if provider == "google":
        rows = sandbox.google.messages(GOOGLE_USER)["messages"]
        live = [r for r in rows if "INBOX" in r["labelIds"]]
        sandbox.google.deliver(
            GOOGLE_USER, raw.format(to=GOOGLE_USER, n=1), label_ids=["INBOX", "UNREAD"]
        )
        sandbox.google.delete_message(GOOGLE_USER, live[0]["id"])
        sandbox.google.modify_labels(GOOGLE_USER, live[1]["id"], remove=["UNREAD"], add=["STARRED"])
        sandbox.google.modify_labels(GOOGLE_USER, live[2]["id"], remove=["INBOX"])
        sandbox.google.modify_labels(GOOGLE_USER, live[3]["id"], add=["TRASH"], remove=["INBOX"])
    else:
        rows = sandbox.microsoft.messages(MICROSOFT_USER)["messages"]
        live = [r for r in rows if r["folder"] == "inbox"]
        sandbox.microsoft.deliver(
            MICROSOFT_USER, raw.format(to=MICROSOFT_USER, n=2), folder="inbox"
        )
        sandbox.microsoft.delete_message(MICROSOFT_USER, live[0]["id"])
        sandbox.microsoft.update_message(MICROSOFT_USER, live[1]["id"], is_read=True, flagged=True)
        sandbox.microsoft.update_message(MICROSOFT_USER, live[2]["id"], folder="archive")
        sandbox.microsoft.update_message(MICROSOFT_USER, live[3]["id"], folder="deleteditems")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_initial_and_incremental_sync_through_the_worker(
    org_a: Tenant, providers: Providers, worker: Worker, provider: str
) -> None:
    mailbox = mailbox_for(provider, org_a, providers, count=150, sync_timeframe="all")
    run = wait_for(org_a, start_sync(org_a, mailbox))
    assert run.status == "COMPLETED", run.error
    assert differences(expected(provider, providers), stored(org_a, mailbox)) == {}
    change_mailbox(provider, providers)
    run = wait_for(org_a, start_sync(org_a, mailbox))
    assert run.status == "COMPLETED", run.error
    assert not run.full_resync
    assert differences(expected(provider, providers), stored(org_a, mailbox)) == {}


@pytest.mark.parametrize(
    ("provider", "timeframe"), [("google", "1w"), ("microsoft", "2w"), ("google", "1m")]
)
def test_initial_sync_covers_the_timeframe(
    org_a: Tenant, providers: Providers, worker: Worker, provider: str, timeframe: str
) -> None:
    mailbox = mailbox_for(provider, org_a, providers, count=120, sync_timeframe=timeframe)
    run = wait_for(org_a, start_sync(org_a, mailbox))
    assert run.status == "COMPLETED", run.error
    with org_a.scope():
        mailbox.refresh_from_db()
        copies = list(mailbox.copies.values_list("received_at", flat=True))

    since = window_for(timeframe, timezone.now()).since
    assert copies and since is not None
    assert min(copies) >= since - __import__("datetime").timedelta(days=1)
