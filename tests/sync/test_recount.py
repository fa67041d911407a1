"""A run's recounter: it gathers a second of pages per drain while the download goes on, and
recounts each page as it commits once the download has ended (``hurry``)."""

from __future__ import annotations

import queue
from typing import Any

import pytest

from integrations.mail.sync import recount
from integrations.mail.sync.recount import Recounter

# Long enough that a drain the gathering holds back never starts during a test.
GATHERING = 600.0
WAIT = 10.0


@pytest.fixture
def drains(monkeypatch: pytest.MonkeyPatch) -> queue.Queue[Any]:
    """Each drain of the recounter, as it starts."""
    started: queue.Queue[Any] = queue.Queue()
    monkeypatch.setattr(recount, "GATHER_SECONDS", GATHERING)
    monkeypatch.setattr(recount, "recount_owed", lambda organization: started.put(organization))
    return started


def test_pages_committed_while_the_download_goes_on_wait_for_the_next_gathered_drain(
    drains: queue.Queue[Any],
) -> None:
    recounter = Recounter("organization", "recount")
    recounter.start()
    try:
        recounter.wake()
        assert drains.get(timeout=WAIT) == "organization"
        recounter.wake()  # the next page committed: gathered with those after it
        with pytest.raises(queue.Empty):
            drains.get(timeout=0.5)
    finally:
        recounter.stop()


def test_once_the_download_has_ended_each_page_is_recounted_as_it_commits(
    drains: queue.Queue[Any],
) -> None:
    recounter = Recounter("organization", "recount")
    recounter.start()
    try:
        recounter.wake()
        drains.get(timeout=WAIT)
        recounter.wake()

        recounter.hurry()  # what was gathered is recounted now, not after the gathering

        assert drains.get(timeout=WAIT) == "organization"
        recounter.wake()
        assert drains.get(timeout=WAIT) == "organization"
    finally:
        recounter.stop()
    assert not recounter.is_alive()
