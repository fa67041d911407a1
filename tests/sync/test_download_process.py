"""A first sync downloads in a forked process (Linux): pages cross the pipe unchanged, tokens
come from the run, incremental runs stay in the worker."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations.mail.models import RunStatus
from integrations.mail.sync import download
from integrations.mail.sync.drivers import VaultTokens
from integrations.providers.base import ConsentRequired
from integrations.providers.mail import (
    ChangePage,
    FetchFailure,
    RemoteAddress,
    RemoteAttachment,
    RemoteFlags,
    RemoteMessage,
)
from integrations.providers.microsoft.graph_mail import GraphMailDriver
from tests.conftest import Tenant
from tests.connections.conftest import Providers
from tests.sync.harness import differences, stored
from tests.sync.test_engine import expected, make_mailbox, sync

pytestmark = pytest.mark.django_db(transaction=True)
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the download forks on Linux only"
)


def test_a_page_crosses_the_pipe_unchanged() -> None:
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    message = RemoteMessage(
        provider_id="m1",
        provider_thread_id="t1",
        rfc_message_id="<m1@example.test>",
        subject="Quarterly numbers",
        sent_at=when,
        received_at=when,
        sender=RemoteAddress("dana@customer.test", "Dana"),
        to=(RemoteAddress("alice@alpha.test"), RemoteAddress("bob@alpha.test", "Bob")),
        cc=(),
        bcc=(RemoteAddress("eve@alpha.test"),),
        reply_to=(),
        in_reply_to="<m0@example.test>",
        references=("<m0@example.test>",),
        text_body="Hello",
        html_body="<p>Hello</p>",
        snippet="Hello",
        size=1234,
        folder_ids=("inbox",),
        is_read=True,
        is_starred=False,
        attachments=(RemoteAttachment("q.pdf", "application/pdf", 10, data=b"%PDF"),),
    )
    without_sender = RemoteMessage(
        provider_id="m2",
        provider_thread_id="",
        rfc_message_id="",
        subject="",
        sent_at=when,
        received_at=when,
        sender=None,
    )
    page = ChangePage(
        stream="inbox",
        cursor="c2",
        final=True,
        fetch=("m3",),
        messages=(message, without_sender),
        flags=(RemoteFlags("m4", ("inbox", "starred"), True, True),),
        removed=("m5",),
        total_estimate=7,
    )
    fetched = [message, FetchFailure("m3", "gone", permanent=True)]

    assert download._page_unpacked(download._page_packed(page, fetched)) == (page, fetched)


def test_an_address_named_by_several_messages_of_a_page_travels_once() -> None:
    when = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    dana = RemoteAddress("dana@customer.test", "Dana")
    messages = tuple(
        RemoteMessage(
            provider_id=f"m{n}",
            provider_thread_id="t1",
            rfc_message_id=f"<m{n}@example.test>",
            subject="Renewal",
            sent_at=when,
            received_at=when,
            sender=dana,
            to=(RemoteAddress("alice@alpha.test"), dana),
        )
        for n in range(3)
    )
    page = ChangePage(stream="inbox", cursor="c1", final=True, messages=messages)

    unpacked, _ = download._page_unpacked(
        pickle.loads(pickle.dumps(download._page_packed(page, [])))
    )

    assert unpacked == page
    senders = {id(m.sender) for m in unpacked.messages} | {id(m.to[1]) for m in unpacked.messages}
    assert len(senders) == 1


def _noting_pids(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The process ids the driver listed changes in (seen across a fork)."""
    pids = multiprocessing.get_context("fork").Queue()
    changes = GraphMailDriver.changes

    def changes_noted(self: GraphMailDriver, **kwargs: Any) -> Any:
        pids.put(os.getpid())
        yield from changes(self, **kwargs)

    monkeypatch.setattr(GraphMailDriver, "changes", changes_noted)
    return pids


def _drained(pids: Any) -> set[int]:
    seen = set()
    while not pids.empty():
        seen.add(pids.get(timeout=5))
    return seen


@linux_only
def test_threads_asking_for_tokens_at_once_each_read_their_own_answer() -> None:
    """The download's threads share one pipe: a question and its answer are never split."""
    ours, theirs = multiprocessing.Pipe(duplex=True)
    tokens = download._ParentTokens(theirs, threading.Lock())
    answers: dict[int, list[str]] = {}

    def relay() -> None:  # the run's side: answers every question in order, a little late
        for _ in range(40):
            _, kind, connection_id = ours.recv()
            time.sleep(0.001)
            ours.send(f"{kind}-{connection_id}")

    def ask(connection_id: int) -> None:
        answers[connection_id] = [
            tokens.current(connection_id) if n % 2 else tokens.renewed(connection_id)
            for n in range(10)
        ]

    threads = [threading.Thread(target=relay, daemon=True)]
    threads += [
        threading.Thread(target=ask, args=(connection_id,), daemon=True)
        for connection_id in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert answers == {
        connection_id: [
            f"current-{connection_id}" if n % 2 else f"renewed-{connection_id}" for n in range(10)
        ]
        for connection_id in range(4)
    }


def test_a_first_sync_downloads_in_a_process_and_the_next_ones_in_the_worker(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=60)
    pids = _noting_pids(monkeypatch)

    first = sync(org_a, mailbox)
    assert first.status == RunStatus.COMPLETED, first.error
    in_first = _drained(pids)
    second = sync(org_a, mailbox)
    assert second.status == RunStatus.COMPLETED, second.error

    assert in_first and os.getpid() not in in_first
    assert _drained(pids) == {os.getpid()}
    assert differences(expected("microsoft", providers), stored(org_a, mailbox)) == {}


@linux_only
def test_the_download_process_asks_the_run_for_every_token_it_needs(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.TOKEN_REFRESH_MARGIN_SECONDS = 0  # no token reused: each call asks for one
    mailbox = make_mailbox("microsoft", org_a, providers, count=60)
    # Read in the worker, never in the download process (it must not touch the database).
    asked_in = multiprocessing.get_context("fork").Queue()
    current = VaultTokens.current

    def current_counted(self: VaultTokens, connection_id: int) -> str:
        asked_in.put(os.getpid())
        return current(self, connection_id)

    monkeypatch.setattr(VaultTokens, "current", current_counted)
    pids = _noting_pids(monkeypatch)

    run = sync(org_a, mailbox)

    assert run.status == RunStatus.COMPLETED, run.error
    assert os.getpid() not in _drained(pids)
    readers = [asked_in.get(timeout=5) for _ in range(asked_in.qsize())]
    assert len(readers) >= 3 and set(readers) == {os.getpid()}
    assert differences(expected("microsoft", providers), stored(org_a, mailbox)) == {}


@linux_only
def test_an_error_the_worker_cannot_rebuild_fails_the_run_cleanly(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=20)

    def changes_refused(self: GraphMailDriver, **kwargs: Any) -> Any:
        # Its keyword-only argument is not in its pickle: unpickling it raises TypeError.
        raise ConsentRequired("An administrator must consent.", admin_consent_url="https://x")
        yield

    monkeypatch.setattr(GraphMailDriver, "changes", changes_refused)
    run = sync(org_a, mailbox)

    assert run.status == RunStatus.FAILED
    assert run.error == "The mail download failed."
    with org_a.scope():
        mailbox.refresh_from_db()
    assert mailbox.sync_state == "error"


@linux_only
def test_a_download_process_that_cannot_start_fails_the_run_instead_of_hanging_it(
    org_a: Tenant, providers: Providers, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox = make_mailbox("microsoft", org_a, providers, count=20)

    def fork_refused() -> int:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(download.os, "fork", fork_refused)
    run = sync(org_a, mailbox)

    assert run.status == RunStatus.FAILED
    assert run.error == "The mail download could not start."
