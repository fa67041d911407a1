"""Message batches sent over several connections at once: every batch once, answers in the
batches' order, the caller's context on every connection, errors raised to the caller."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest

from integrations.providers.base import InvalidGrant
from integrations.providers.google.gmail_batch import over_connections

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="none")


def test_every_batch_goes_once_and_the_answers_keep_the_batches_order() -> None:
    chunks = [[f"m{n}a", f"m{n}b"] for n in range(9)]
    sent: list[tuple[str, str]] = []
    barrier = threading.Barrier(2, timeout=5)

    def send(chunk: list[str], http: Any) -> list[str]:
        if chunk is chunks[0] or chunk is chunks[1]:
            barrier.wait()  # the first two batches are in flight together
        sent.append((chunk[0], http))
        return [f"failed:{chunk[0]}"]

    answers = over_connections(send, chunks, ["first", "second"])

    assert answers == [[f"failed:m{n}a"] for n in range(9)]
    assert sorted(first for first, _ in sent) == sorted(chunk[0] for chunk in chunks)
    assert {http for _, http in sent} == {"first", "second"}


def test_each_connection_runs_in_the_callers_context() -> None:
    seen: set[str] = set()

    def send(chunk: list[str], http: Any) -> list[str]:
        seen.add(marker.get())
        return []

    token = marker.set("organization 7")
    try:
        over_connections(send, [["a"], ["b"], ["c"], ["d"]], ["first", "second"])
    finally:
        marker.reset(token)

    assert seen == {"organization 7"}


def test_an_error_on_another_connection_is_raised_to_the_caller() -> None:
    second_called = threading.Event()

    def send(chunk: list[str], http: Any) -> list[str]:
        if http == "second":
            second_called.set()
            raise InvalidGrant("refused")
        second_called.wait(timeout=5)  # leave a batch to the other connection
        return []

    with pytest.raises(InvalidGrant):
        over_connections(send, [["a"], ["b"], ["c"], ["d"]], ["first", "second"])


def test_one_connection_sends_the_batches_one_after_the_other() -> None:
    threads: set[int] = set()

    def send(chunk: list[str], http: Any) -> list[str]:
        threads.add(threading.get_ident())
        return chunk

    assert over_connections(send, [["a"], ["b"]], ["only"]) == [["a"], ["b"]]
    assert threads == {threading.get_ident()}
