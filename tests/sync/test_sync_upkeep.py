"""What a long sync keeps up besides the mail: planner statistics refreshed as the run grows,
and the access token reused for a short while instead of read per call."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.mail.sync import statistics
from integrations.mail.sync.drivers import mailbox_driver_context
from integrations.mail.sync.statistics import StatisticsKeeper, statistics_refresh
from tests.conftest import Tenant
from tests.mail.factories import ConnectionFactory, MailboxFactory

pytestmark = pytest.mark.django_db


def _counted(refreshes: list[int]) -> Any:
    def refresh() -> bool:
        refreshes.append(1)
        return True

    return refresh


def test_statistics_are_refreshed_at_a_thousand_messages_then_each_time_the_run_grows_tenfold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refreshes: list[int] = []
    keeper = StatisticsKeeper()
    monkeypatch.setattr(statistics, "statistics_refresh", _counted(refreshes))
    monkeypatch.setattr(connection, "vendor", "postgresql")

    created_after = []
    for created in (600, 400, 500, 2000, 1100, 10000, 4000, 1000):
        keeper.stored(created)
        created_after.append(len(refreshes))

    # 600, 1000 (refresh), 1500, 3500, 4600, 14600 (refresh: over 10 x 1000), 18600, 19600
    assert created_after == [0, 1, 1, 1, 1, 2, 2, 2]


def test_an_incremental_poll_never_refreshes_statistics(monkeypatch: pytest.MonkeyPatch) -> None:
    refreshes: list[int] = []
    monkeypatch.setattr(statistics, "statistics_refresh", _counted(refreshes))
    keeper = StatisticsKeeper()

    for _ in range(20):
        keeper.stored(3)

    assert refreshes == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics: PostgreSQL")
def test_the_refresh_analyzes_the_mail_tables_as_their_owner(org_a: Tenant) -> None:
    assert statistics_refresh() is True

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN "
            "('mail_message', 'mail_messagecopy', 'mail_mailthread') AND last_analyze IS NOT NULL"
        )
        (analyzed,) = cursor.fetchone()
    assert analyzed == 3


def _mailbox(org: Tenant) -> Any:
    """A mailbox whose connection holds a token valid for another hour."""
    connection_row = ConnectionFactory(
        user=org.member, token_expires_at=timezone.now() + timedelta(hours=1)
    )
    connection_row.store_tokens(access_token="access-1", refresh_token="refresh-1")
    connection_row.save()
    return MailboxFactory(connection=connection_row)


def test_the_driver_reads_the_token_once_a_minute_not_per_call(org_a: Tenant) -> None:
    with org_a.scope():
        mailbox = _mailbox(org_a)
        context = mailbox_driver_context(mailbox)

        with CaptureQueriesContext(connection) as queries:
            tokens = {context.token() for _ in range(5)}

    assert tokens == {"access-1"} and len(queries) == 1


def test_a_renewed_token_replaces_the_one_kept(
    org_a: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations.connections import services

    with org_a.scope():
        mailbox = _mailbox(org_a)
        context = mailbox_driver_context(mailbox)
        first = context.token()

        class Refreshed:
            access_token = "renewed-token"

        def refresh(**kwargs: Any) -> Refreshed:
            return Refreshed()

        monkeypatch.setattr(services, "connection_refresh", refresh)
        renewed = context.renew()

        assert first != renewed == "renewed-token" == context.token()


def test_a_runs_refresh_goes_on_in_the_background_and_never_twice_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, release = threading.Event(), threading.Event()
    refreshes: list[int] = []

    def slow_refresh() -> bool:
        refreshes.append(1)
        started.set()
        release.wait(timeout=5)
        return True

    monkeypatch.setattr(statistics, "statistics_refresh", slow_refresh)
    monkeypatch.setattr(connection, "vendor", "postgresql")
    keeper = StatisticsKeeper(in_background=True)

    keeper.stored(1000)  # returns while the refresh is still running
    assert started.wait(timeout=5)
    keeper.stored(4000)  # time for another, but one is still running
    release.set()
    keeper.finish()  # what a run does as it ends

    assert refreshes == [1]
    assert keeper.refreshing is not None and not keeper.refreshing.is_alive()
