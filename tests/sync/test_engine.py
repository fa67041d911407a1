"""The sync engine in-process against the sandbox: initial, incremental, expiry, faults."""

from __future__ import annotations

import gc
import multiprocessing
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from crm.tenancy import tenant_context
from integrations.connections.models import Connection, ConnectionStatus
from integrations.mail.models import (
    FolderCount,
    Mailbox,
    MailboxThread,
    MailThread,
    Message,
    MessageCopy,
    RunStatus,
    RunTrigger,
    SyncFailure,
    SyncRun,
)
from integrations.mail.services import sync_request
from integrations.mail.sync.engine import MailboxSyncer, mailbox_sync
from integrations.mail.sync.lease import SyncAlreadyRunning, run_open
from integrations.mail.sync.recount import Recounter
from integrations.mail.threads import threads_recount
from integrations.providers.base import ProviderUnavailable
from integrations.providers.microsoft.graph_mail import GraphMailDriver
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.sync.harness import (
    differences,
    expected_google,
    expected_microsoft,
    google_mailbox,
    microsoft_mailbox,
    stored,
)

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDERS = ["google", "microsoft"]


def make_mailbox(
    provider: str, org: Tenant, providers: Providers, count: int = 120, **fields: Any
) -> Mailbox:
    sandbox = providers.sandbox
    fields.setdefault("sync_timeframe", "all")
    fields.setdefault("exclude_internal", False)
    if provider == "google":
        sandbox.google.fill(GOOGLE_USER, seed=7, count=count)
        return google_mailbox(org, sandbox, GOOGLE_USER, **fields)
    sandbox.microsoft.fill(MICROSOFT_USER, seed=7, count=count)
    return microsoft_mailbox(org, sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields)


def expected(provider: str, providers: Providers) -> dict[str, Any]:
    if provider == "google":
        return expected_google(providers.sandbox, GOOGLE_USER)
    return expected_microsoft(providers.sandbox, MICROSOFT_USER)


def sync(org: Tenant, mailbox: Mailbox, trigger: str = RunTrigger.MANUAL) -> SyncRun:
    with tenant_context(org.organization):
        run = run_open(mailbox=mailbox, trigger=trigger)
        result = mailbox_sync(run_id=run.pk)
    assert result is not None
    return result


@pytest.mark.parametrize("provider", PROVIDERS)
def test_initial_sync_stores_exactly_the_mailbox(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers)
    run = sync(org_a, mailbox)
    assert run.status == RunStatus.COMPLETED, run.error
    assert differences(expected(provider, providers), stored(org_a, mailbox)) == {}
    with org_a.scope():
        assert Message.objects.count() <= MessageCopy.objects.count()
        mailbox.refresh_from_db()
    assert mailbox.cursors and mailbox.last_synced_at and mailbox.sync_state == "idle"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_second_sync_of_an_unchanged_mailbox_changes_nothing(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers, count=40)
    sync(org_a, mailbox)
    before = stored(org_a, mailbox)
    since = providers.sandbox.last_request_seq()
    run = sync(org_a, mailbox)
    assert run.status == RunStatus.COMPLETED
    assert stored(org_a, mailbox) == before
    log = providers.sandbox.requests_log(since=since)
    # Over the wire only: Graph's three folder deltas travel inside one $batch.
    calls = [r for r in log if r["provider"] != "control" and not r.get("batch")]
    assert len(calls) == 1, [c["route"] for c in calls]


def test_a_second_sync_is_refused_while_one_runs(org_a: Tenant, providers: Providers) -> None:
    mailbox = make_mailbox("google", org_a, providers, count=5)
    with tenant_context(org_a.organization):
        run_open(mailbox=mailbox, trigger=RunTrigger.MANUAL)
        with pytest.raises(SyncAlreadyRunning):
            run_open(mailbox=mailbox, trigger=RunTrigger.MANUAL)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_expired_cursor_triggers_a_full_resync_without_duplicates(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers, count=40)
    sync(org_a, mailbox)
    with org_a.scope():
        messages_before = Message.objects.count()
    if provider == "google":
        providers.sandbox.google.expire_history(GOOGLE_USER)
    else:
        providers.sandbox.microsoft.expire_delta(MICROSOFT_USER)
    run = sync(org_a, mailbox)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.full_resync
    with org_a.scope():
        assert Message.objects.count() == messages_before
    assert differences(expected(provider, providers), stored(org_a, mailbox)) == {}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_throttling_and_server_errors_still_converge(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers, count=80)
    route = "gmail.*" if provider == "google" else "graph.*"
    providers.sandbox.add_fault(route=route, status=429, rate=0.2, retry_after=0, seed=3)
    providers.sandbox.add_fault(route=route, status=503, rate=0.1, seed=4)
    run = sync(org_a, mailbox)
    providers.sandbox.clear_faults()
    if run.status == RunStatus.COMPLETED_WITH_ERRORS:
        # What the scheduler does next: fetch the failed messages again.
        run = sync(org_a, mailbox, trigger=RunTrigger.RETRY)
    elif run.status != RunStatus.COMPLETED:
        run = sync(org_a, mailbox)
    assert run.status == RunStatus.COMPLETED, run.error
    assert differences(expected(provider, providers), stored(org_a, mailbox)) == {}
    with org_a.scope():
        assert not SyncFailure.objects.exclude(status="RESOLVED").exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_invalid_grant_mid_run_fails_the_run_and_expires_the_connection(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers, count=30)
    account = GOOGLE_USER if provider == "google" else MICROSOFT_USER
    getattr(providers.sandbox, provider).revoke_grants(account)
    with org_a.scope():
        Connection.objects.filter(pk=mailbox.connection_id).update(token_expires_at=None)
    run = sync(org_a, mailbox)
    assert run.status == RunStatus.FAILED and "reconnect" in run.error
    with org_a.scope():
        assert Connection.objects.get(pk=mailbox.connection_id).status == ConnectionStatus.EXPIRED
        assert not MessageCopy.objects.filter(mailbox=mailbox).exists()


def test_a_message_in_two_teammates_mailboxes_is_stored_once(
    org_a: Tenant, providers: Providers
) -> None:
    sandbox = providers.sandbox
    sandbox.google.create_user("bob.gmail@example.test", "Bob")
    raw = (
        "From: Carol Client <carol@client.test>\r\n"
        "To: alice.gmail@example.test, bob.gmail@example.test\r\n"
        "Subject: Pricing question\r\nMessage-ID: <pricing-1@client.test>\r\n"
        "Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\nHow much?\r\n"
    )
    sandbox.google.deliver(GOOGLE_USER, raw, label_ids=["INBOX"])
    sandbox.google.deliver("bob.gmail@example.test", raw, label_ids=["INBOX"])
    alice_box = google_mailbox(org_a, sandbox, GOOGLE_USER, sync_timeframe="all")
    bob_box = google_mailbox(org_a, sandbox, "bob.gmail@example.test", sync_timeframe="all")
    sync(org_a, alice_box)
    sync(org_a, bob_box)
    with org_a.scope():
        message = Message.objects.get(rfc_message_id="<pricing-1@client.test>")
        assert message.copies.count() == 2
        assert message.participants.filter(role="from").get().address == "carol@client.test"


def test_sync_request_queues_one_run(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "integrations.mail.tasks.mailbox_sync_task.delay", lambda *a: queued.append(a)
    )
    mailbox = make_mailbox("google", org_a, providers, count=3)
    with tenant_context(org_a.organization):
        run = sync_request(mailbox=mailbox, trigger=RunTrigger.MANUAL)
    assert queued == [(org_a.organization.pk, run.pk)]


def test_a_graph_message_moved_between_synced_folders_keeps_its_record(
    org_a: Tenant, providers: Providers
) -> None:
    """A move shows as a removal in the old folder's delta and an addition in the new one's:
    the copy (and the message, its links and cached body with it) must survive either order,
    while a message moved out of every synced folder is removed."""
    mailbox = make_mailbox("microsoft", org_a, providers, count=20)
    sync(org_a, mailbox)
    sandbox = providers.sandbox.microsoft
    inbox = [r for r in sandbox.messages(MICROSOFT_USER)["messages"] if r["folder"] == "inbox"]
    rest = {r["immutableId"]: r["id"] for r in inbox[:3]}  # a move changes the REST id only
    to_archive, round_trip, to_trash = (r["immutableId"] for r in inbox[:3])

    def move(immutable_id: str, folder: str) -> None:
        moved = sandbox.update_message(MICROSOFT_USER, rest[immutable_id], folder=folder)
        rest[immutable_id] = moved["id"]

    move(round_trip, "archive")
    sync(org_a, mailbox)
    with org_a.scope():
        before = dict(
            MessageCopy.objects.filter(mailbox=mailbox).values_list(
                "provider_message_id", "message_id"
            )
        )

    move(to_archive, "archive")  # Inbox → Archive
    move(round_trip, "inbox")  # Archive → Inbox
    move(to_trash, "deleteditems")  # out of every synced folder
    run = sync(org_a, mailbox)

    assert run.status == RunStatus.COMPLETED, run.error
    assert differences(expected("microsoft", providers), stored(org_a, mailbox)) == {}
    with org_a.scope():
        after = dict(
            MessageCopy.objects.filter(mailbox=mailbox).values_list(
                "provider_message_id", "message_id"
            )
        )
        placed = {
            c.provider_message_id: (c.in_inbox, c.is_archived)
            for c in MessageCopy.objects.filter(mailbox=mailbox)
        }
    assert after[to_archive] == before[to_archive]
    assert after[round_trip] == before[round_trip]
    assert placed[to_archive] == (False, True) and placed[round_trip] == (True, False)
    assert to_trash not in after


def _listing(org: Tenant) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The inbox rows and folder totals as stored."""
    with org.scope():
        rows = sorted(
            MailboxThread.objects.values_list(
                "scope",
                "thread_id",
                "message_count",
                "unread_count",
                "in_inbox",
                "in_sent",
                "in_archive",
                "starred",
                "last_message_at",
                "latest_message_id",
            )
        )
        counts = sorted(
            FolderCount.objects.values("scope", "folder")
            .annotate(threads=Sum("threads"), messages=Sum("messages"))
            .values_list("scope", "folder", "threads", "messages")
        )
    return rows, counts


def _recounted_from_scratch(org: Tenant) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with tenant_context(org.organization), transaction.atomic():
        threads_recount(MailThread.objects.values_list("pk", flat=True))
    return _listing(org)


def _settled_listing(org: Tenant) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The listing once nothing is owed: what recounting everything from scratch gives."""
    assert _owed(org) == 0
    listing = _listing(org)
    assert listing == _recounted_from_scratch(org)
    return listing


def _owed(org: Tenant) -> int:
    with org.scope(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mail_recount_pending")
        return int(cursor.fetchone()[0])


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="recounts beside the pages: PostgreSQL"
)


@postgresql_only
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_run_reports_only_once_every_conversation_it_touched_is_recounted(
    org_a: Tenant, providers: Providers, provider: str
) -> None:
    mailbox = make_mailbox(provider, org_a, providers, count=300)
    run = sync(org_a, mailbox)
    assert run.status == RunStatus.COMPLETED, run.error

    assert _settled_listing(org_a)[0], "the sync listed no conversation"


@postgresql_only
def test_conversations_a_killed_run_left_owed_are_recounted_by_the_next_run(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = make_mailbox("google", org_a, providers, count=40)
    sync(org_a, mailbox)
    for n in range(3):
        providers.sandbox.google.deliver(
            GOOGLE_USER,
            f"From: Carol Client <carol@client.test>\r\nTo: {GOOGLE_USER}\r\n"
            f"Subject: Order {n}\r\nMessage-ID: <order-{n}@client.test>\r\n"
            "Date: Mon, 16 Nov 2026 10:00:00 +0000\r\n\r\nShipped?\r\n",
            label_ids=["INBOX", "UNREAD"],
        )
    # The worker dies after its pages committed, before anything recounted them.
    monkeypatch.setattr(Recounter, "run", lambda self: None)
    monkeypatch.setattr(Recounter, "settle", lambda self: None)
    sync(org_a, mailbox)
    monkeypatch.undo()
    with org_a.scope():
        new_threads = set(
            Message.objects.filter(rfc_message_id__startswith="<order-").values_list(
                "thread_id", flat=True
            )
        )
        assert len(new_threads) == 3
        assert not MailboxThread.objects.filter(thread_id__in=new_threads).exists()
    assert _owed(org_a) > 0

    run = sync(org_a, mailbox)

    assert run.status == RunStatus.COMPLETED, run.error
    assert {row[1] for row in _settled_listing(org_a)[0]} >= new_threads


@postgresql_only
def test_a_failed_run_still_recounts_the_pages_it_committed(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=120)
    original = MailboxSyncer._store_page

    def sync_one_stream_then_fail(self: MailboxSyncer, stream: str, *args: Any) -> None:
        if self.mailbox.cursors and stream not in self.mailbox.cursors:
            raise ProviderUnavailable("The provider is unavailable.")
        original(self, stream, *args)

    monkeypatch.setattr(MailboxSyncer, "_store_page", sync_one_stream_then_fail)
    run = sync(org_a, mailbox)

    assert run.status == RunStatus.FAILED
    assert _settled_listing(org_a)[0], "the committed stream listed no conversation"


@pytest.mark.parametrize("in_process", [True, False], ids=["download-process", "download-thread"])
def test_the_download_goes_on_into_the_next_folder_while_the_last_page_of_one_is_stored(
    org_a: Tenant,
    providers: Providers,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
    in_process: bool,
) -> None:
    settings.MAIL_SYNC_DOWNLOAD_PROCESS = in_process
    mailbox = make_mailbox("microsoft", org_a, providers, count=120)
    # Seen across the fork of a download process too.
    next_folder_asked = multiprocessing.get_context("fork").Event()
    asked_while_storing: list[bool] = []
    changes = GraphMailDriver.changes

    def changes_noted(self: GraphMailDriver, *, stream: str, **kwargs: Any) -> Iterator[Any]:
        if stream != self.streams[0]:
            next_folder_asked.set()
        yield from changes(self, stream=stream, **kwargs)

    store_page = MailboxSyncer._store_page

    def store_page_waiting(self: MailboxSyncer, stream: str, label: str, page: Any, *args: Any):
        if page.final and not asked_while_storing:
            asked_while_storing.append(next_folder_asked.wait(timeout=30))
        store_page(self, stream, label, page, *args)

    monkeypatch.setattr(GraphMailDriver, "changes", changes_noted)
    monkeypatch.setattr(MailboxSyncer, "_store_page", store_page_waiting)
    run = sync(org_a, mailbox)

    assert run.status == RunStatus.COMPLETED, run.error
    assert asked_while_storing == [True]
    assert {entry["status"] for entry in run.folders.values()} == {"COMPLETED"}
    assert differences(expected("microsoft", providers), stored(org_a, mailbox)) == {}


def _sync_noting_each_page(
    org: Tenant,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    note: Callable[[], Any],
    *,
    fails: bool,
) -> tuple[SyncRun, list[Any]]:
    """Sync, noting ``note()`` as each page is about to be stored; with ``fails`` the first
    page fails the run instead."""
    seen: list[Any] = []
    store_page = MailboxSyncer._store_page

    def store_page_noted(self: MailboxSyncer, *args: Any) -> None:
        seen.append(note())
        if fails:
            raise ProviderUnavailable("The provider is unavailable.")
        store_page(self, *args)

    monkeypatch.setattr(MailboxSyncer, "_store_page", store_page_noted)
    return sync(org, mailbox), seen


@pytest.mark.parametrize("fails", [False, True])
def test_a_run_stores_with_the_tuned_interpreter_and_leaves_it_as_it_found_it(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=40)
    before = (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count())
    run, seen = _sync_noting_each_page(
        org_a,
        mailbox,
        monkeypatch,
        lambda: gc.get_freeze_count() > 0 and gc.get_threshold() != before[1],
        fails=fails,
    )

    assert run.status == (RunStatus.FAILED if fails else RunStatus.COMPLETED), run.error
    assert seen and all(seen)
    assert (sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count()) == before


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.parametrize("fails", [False, True])
def test_pages_commit_without_waiting_for_the_wal_flush_and_the_session_gets_its_setting_back(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=40)
    before = _synchronous_commit()
    run, seen = _sync_noting_each_page(
        org_a, mailbox, monkeypatch, _synchronous_commit, fails=fails
    )

    assert run.status == (RunStatus.FAILED if fails else RunStatus.COMPLETED), run.error
    assert seen and set(seen) == {"off"}
    assert before == "on" and _synchronous_commit() == before
