"""Convergence under chaos: 3,000 messages per provider, a fifth of the provider calls failing,
and the worker killed with SIGKILL at five random moments during the initial sync and again
during incremental changes. Afterwards the database equals the sandbox mailbox exactly."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest
from django.test import override_settings

from crm.tenancy import tenant_context
from integrations.mail.models import (
    FailureStatus,
    Mailbox,
    MailThread,
    Message,
    RunTrigger,
    SyncFailure,
    SyncRun,
)
from integrations.mail.services import sync_request
from integrations.mail.sync import scheduler
from integrations.mail.sync.lease import SyncAlreadyRunning
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

MESSAGES = 3000
KILLS = 5
LEASE_SECONDS = 3
CHANGES = 150


def chaos(providers: Providers, provider: str) -> None:
    """20% of the provider's calls fail: 429 + Retry-After, rate-limit 403s (Gmail's; Graph
    throttles with 429 only, its 403 means access denied), 500, 503, connection resets."""
    route = "gmail.*" if provider == "google" else "graph.*"
    rate_limit = (
        (403, {"reason": "userRateLimitExceeded"}, 0.04)
        if provider == "google"
        else (429, {"retry_after": 1}, 0.04)
    )
    for status, extra, rate in (
        (429, {"retry_after": 1}, 0.06),
        rate_limit,
        (500, {}, 0.04),
        (503, {}, 0.03),
        (None, {"reset": True}, 0.03),
    ):
        rule: dict[str, Any] = {
            "route": route,
            "rate": rate,
            "seed": random.randrange(10**6),
            **extra,
        }
        if status:
            rule["status"] = status
        providers.sandbox.add_fault(**rule)


def run_of(org: Tenant, run_id: int) -> SyncRun:
    with tenant_context(org.organization):
        return SyncRun.objects.get(pk=run_id)


def drive_to_completion(
    org: Tenant, mailbox: Mailbox, worker: Worker, *, kills: int, timeout: float = 150
) -> None:
    """Sync until a run completes, killing the worker ``kills`` times along the way.

    What a deployment does on its own: the scheduler resumes runs whose worker stopped beating
    and queues the next run; failed messages are retried.
    """
    rng = random.Random(len(mailbox.address) + kills)
    deadline = time.monotonic() + timeout
    kill_at = sorted(rng.uniform(0.3, 4.0) for _ in range(kills))
    started = time.monotonic()
    run_id = None
    while time.monotonic() < deadline:
        with tenant_context(org.organization):
            try:
                run_id = sync_request(mailbox=mailbox, trigger=RunTrigger.SCHEDULE).pk
            except SyncAlreadyRunning as exc:
                run_id = exc.run.pk
        while time.monotonic() < deadline:
            if kill_at and time.monotonic() - started >= kill_at[0]:
                kill_at.pop(0)
                worker.restart()
            run = run_of(org, run_id)
            if run.status in FINISHED:
                break
            scheduler.sync_runs_recover()
            time.sleep(0.25)
        if run_of(org, run_id).status == "COMPLETED" and not kill_at:
            return
    with tenant_context(org.organization):
        recent = list(
            SyncRun.objects.filter(mailbox=mailbox)
            .order_by("-pk")
            .values_list("status", "error")[:6]
        )
    raise AssertionError(f"no completed run before the deadline; latest runs: {recent}")


def retry_failed(org: Tenant, mailbox: Mailbox, worker: Worker) -> None:
    with tenant_context(org.organization):
        pending = SyncFailure.objects.filter(mailbox=mailbox, status=FailureStatus.FAILED).exists()
    if pending:
        with tenant_context(org.organization):
            run_id = sync_request(mailbox=mailbox, trigger=RunTrigger.RETRY).pk
        deadline = time.monotonic() + 60
        while run_of(org, run_id).status not in FINISHED and time.monotonic() < deadline:
            time.sleep(0.25)


def mutate(providers: Providers, provider: str, rng: random.Random) -> None:
    sandbox = providers.sandbox
    if provider == "google":
        rows = sandbox.google.messages(GOOGLE_USER)["messages"]
        live = [r for r in rows if "INBOX" in r["labelIds"]]
        for n in range(CHANGES // 3):
            sandbox.google.deliver(
                GOOGLE_USER,
                f"From: Chaos <c{n}@chaos.test>\r\nTo: {GOOGLE_USER}\r\nSubject: Chaos {n}\r\n"
                f"Message-ID: <chaos-{n}@chaos.test>\r\n"
                "Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n\r\nx\r\n",
                label_ids=["INBOX", "UNREAD"],
            )
        for row in rng.sample(live, CHANGES):
            action = rng.choice(("delete", "read", "star", "archive"))
            if action == "delete":
                sandbox.google.delete_message(GOOGLE_USER, row["id"])
            elif action == "read":
                sandbox.google.modify_labels(GOOGLE_USER, row["id"], remove=["UNREAD"])
            elif action == "star":
                sandbox.google.modify_labels(GOOGLE_USER, row["id"], add=["STARRED"])
            else:
                sandbox.google.modify_labels(GOOGLE_USER, row["id"], remove=["INBOX"])
        return
    rows = sandbox.microsoft.messages(MICROSOFT_USER)["messages"]
    live = [r for r in rows if r["folder"] == "inbox"]
    for n in range(CHANGES // 3):
        sandbox.microsoft.deliver(
            MICROSOFT_USER,
            f"From: Chaos <c{n}@chaos.test>\r\nTo: {MICROSOFT_USER}\r\nSubject: Chaos {n}\r\n"
            f"Message-ID: <chaos-ms-{n}@chaos.test>\r\n"
            "Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n\r\nx\r\n",
            folder="inbox",
        )
    for row in rng.sample(live, CHANGES):
        action = rng.choice(("delete", "read", "flag", "archive"))
        if action == "delete":
            sandbox.microsoft.delete_message(MICROSOFT_USER, row["id"])
        elif action == "read":
            sandbox.microsoft.update_message(MICROSOFT_USER, row["id"], is_read=True)
        elif action == "flag":
            sandbox.microsoft.update_message(MICROSOFT_USER, row["id"], flagged=True)
        else:
            sandbox.microsoft.update_message(MICROSOFT_USER, row["id"], folder="archive")


@pytest.mark.parametrize("provider", ["google", "microsoft"])
@override_settings(SYNC_LEASE_SECONDS=LEASE_SECONDS)
def test_the_database_converges_on_the_mailbox_under_chaos(
    org_a: Tenant, providers: Providers, worker: Worker, provider: str, settings: Any
) -> None:
    worker.env["SYNC_LEASE_SECONDS"] = str(LEASE_SECONDS)
    worker.restart()
    sandbox = providers.sandbox
    sandbox.set_config(gmail_quota_units_per_second=None, graph_throttle=False)
    rng = random.Random(2026)
    if provider == "google":
        sandbox.google.fill(GOOGLE_USER, seed=5, count=MESSAGES)
        mailbox = google_mailbox(org_a, sandbox, GOOGLE_USER, sync_timeframe="all")
        expected = lambda: expected_google(sandbox, GOOGLE_USER)  # noqa: E731
    else:
        sandbox.microsoft.fill(MICROSOFT_USER, seed=5, count=MESSAGES)
        mailbox = microsoft_mailbox(
            org_a, sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, sync_timeframe="all"
        )
        expected = lambda: expected_microsoft(sandbox, MICROSOFT_USER)  # noqa: E731

    chaos(providers, provider)
    drive_to_completion(org_a, mailbox, worker, kills=KILLS)
    mutate(providers, provider, rng)
    drive_to_completion(org_a, mailbox, worker, kills=KILLS)

    # The faults stop; the scheduler's next poll and retry of failed messages settle the rest.
    sandbox.clear_faults()
    retry_failed(org_a, mailbox, worker)
    drive_to_completion(org_a, mailbox, worker, kills=0)
    assert differences(expected(), stored(org_a, mailbox)) == {}
    with tenant_context(org_a.organization):
        # One copy per provider message (checked above), and no message or thread left behind.
        assert not Message.objects.filter(copies__isnull=True).exists()
        assert not MailThread.objects.filter(messages__isnull=True).exists()
        assert SyncRun.objects.filter(mailbox=mailbox, status="RUNNING").count() == 0
