"""A run's recounter (PostgreSQL): while the download goes on it gathers the pages of a second
per drain, and once the download has ended (``hurry``) it recounts each page as it commits."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from crm.tenancy import tenant_atomic
from integrations.mail.sync import recount
from integrations.mail.sync.recount import Recounter
from integrations.mail.threads import threads_recount_later
from tests.conftest import Tenant

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="recounts beside the pages: PostgreSQL"
    ),
]

# Long enough that a drain the gathering holds back never starts during a test.
GATHERING = 600.0
WAIT = 10.0


@pytest.fixture(autouse=True)
def gathering(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recount, "GATHER_SECONDS", GATHERING)


def committed_page(org: Tenant, *thread_ids: int) -> None:
    """A page committed: its conversations are owed a recount."""
    with tenant_atomic(org.organization):
        threads_recount_later(thread_ids)


def owed(org: Tenant) -> int:
    with org.scope(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM mail_recount_pending")
        return int(cursor.fetchone()[0])


def drained(org: Tenant, within: float) -> bool:
    deadline = time.monotonic() + within
    while owed(org):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_pages_committed_while_the_download_goes_on_wait_for_the_next_gathered_drain(
    org_a: Tenant,
) -> None:
    recounter = Recounter(org_a.organization, "recount")
    recounter.start()
    try:
        committed_page(org_a, 1, 2)
        recounter.wake()
        assert drained(org_a, WAIT)

        committed_page(org_a, 3)  # gathered with the pages after it
        recounter.wake()

        assert not drained(org_a, 0.5)
    finally:
        recounter.stop()
    assert owed(org_a) == 1  # left to settle()


def test_once_the_download_has_ended_each_page_is_recounted_as_it_commits(
    org_a: Tenant,
) -> None:
    recounter = Recounter(org_a.organization, "recount")
    recounter.start()
    try:
        committed_page(org_a, 1)
        recounter.wake()
        assert drained(org_a, WAIT)
        committed_page(org_a, 2)
        recounter.wake()

        recounter.hurry()  # what was gathered is recounted now, not a gathering later

        assert drained(org_a, WAIT)
        committed_page(org_a, 3)
        recounter.wake()
        assert drained(org_a, WAIT)
    finally:
        recounter.stop()
    assert not recounter.is_alive()
