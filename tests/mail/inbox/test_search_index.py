"""The PostgreSQL search index follows the mail by itself: bodies stored later, HTML-only mail
without its markup, deleted messages gone. New mail is queued and indexed after the sync's
transaction, by a task, the beat or the next search. SQLite searches the tables directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from crm.tenancy import ORGANIZATION_SETTING
from integrations.mail import search_index
from integrations.mail.models import Message
from integrations.mail.search import search_parse
from integrations.mail.search_index import (
    SearchNudge,
    search_index_now,
    search_index_pending_drain,
    search_index_task,
)
from integrations.mail.selectors_inbox import InboxFilters, inbox_page
from tests.conftest import Tenant
from tests.mail.inbox.support import Mail, mailbox_of, store

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search index exists on PostgreSQL only"
)


def found(org: Tenant, text: str) -> list[str | None]:
    filters = InboxFilters(folder="all", query=search_parse(text))
    page = inbox_page(user=org.owner, filters=filters)
    return [row.subject for row in page.results]


def test_a_body_stored_after_the_message_is_searchable(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Later", text=""))
        assert found(org_a, "forecast") == []
        Message.objects.filter(subject="Later").update(text_body="The forecast is attached")
        assert found(org_a, "forecast") == ["Later"]


@postgres_only
def test_html_only_mail_is_searched_by_its_text_not_its_markup(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Html", text=""))
        Message.objects.filter(subject="Html").update(
            html_body="<style>.note { color: red }</style><p>Quarterly <b>forecast</b></p>"
        )
        assert found(org_a, "forecast") == ["Html"]
        assert found(org_a, "color") == []
        assert found(org_a, "style") == []


@postgres_only
def test_a_removed_message_leaves_the_index(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Gone", text="ephemeral"))
        message_id = Message.objects.get(subject="Gone").pk
        store(box, removed=["a1"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM mail_search WHERE message_id = %s", [message_id])
            assert cursor.fetchone()[0] == 0


def _ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT message_id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def queued() -> set[int]:
    return _ids("mail_search_pending")


def indexed() -> set[int]:
    return _ids("mail_search")


@postgres_only
def test_stored_mail_is_queued_not_indexed_until_the_task_drains_it(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Queued", text="pipeline"))
        message_id = Message.objects.get(subject="Queued").pk
        assert queued() == {message_id}
        assert indexed() == set()

        assert search_index_task(org_a.organization.pk) == 1

        assert queued() == set()
        assert indexed() == {message_id}
        assert found(org_a, "dana") == ["Queued"]


def test_a_search_right_after_storing_finds_the_mail(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "microsoft", "alice@alpha.test")
        store(
            box,
            Mail("a1", "dana@customer.test", subject="Fresh", text="renewal terms"),
            Mail("a2", "erik@customer.test", subject="Other", text="nothing here"),
        )
        assert found(org_a, "renewal") == ["Fresh"]
        assert found(org_a, "from:dana") == ["Fresh"]
        if connection.vendor == "postgresql":
            assert queued() == set()


@postgres_only
def test_the_sync_queues_one_indexing_task_per_transaction_that_drains_it(
    org_a: Tenant, commit: Callable[[], None]
) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="One"))
        store(box, Mail("a2", "dana@customer.test", subject="Two"))
        drains = [
            entry for entry in connection.run_on_commit if "search_index" in entry[1].__module__
        ]
        assert len(drains) == 1
        assert len(queued()) == 2
        commit()
        assert queued() == set()
        assert len(indexed()) == 2


@postgres_only
def test_a_sync_run_queues_one_indexing_task_per_interval_of_pages_and_one_after_its_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued_for: list[int] = []
    clock = [100.0]
    monkeypatch.setattr(search_index_task, "delay", queued_for.append)
    monkeypatch.setattr(search_index.time, "monotonic", lambda: clock[0])
    nudge = SearchNudge(7)

    nudge.committed(0)  # a page of flags only: nothing to index
    assert queued_for == []
    nudge.committed(500)
    assert queued_for == [7]
    for _ in range(3):  # pages within the interval ride along with the next task
        clock[0] += 0.5
        nudge.committed(500)
    assert queued_for == [7]
    clock[0] += SearchNudge.INTERVAL
    nudge.committed(500)
    assert queued_for == [7, 7]
    clock[0] += 0.5
    nudge.committed(500)
    nudge.finish()
    assert queued_for == [7, 7, 7]
    nudge.finish()  # nothing stored since
    assert queued_for == [7, 7, 7]


@postgres_only
def test_the_beat_drains_every_organization_left_behind(
    org_a: Tenant, org_b: Tenant, eager_tasks: None
) -> None:
    for org, address in ((org_a, "alice@alpha.test"), (org_b, "charlie@beta.test")):
        with org.scope():
            box = mailbox_of(org.owner, "google", address)
            store(box, Mail("x1", "dana@customer.test", subject=f"For {address}"))

    assert search_index_pending_drain() == 2

    for org in (org_a, org_b):
        with org.scope():
            assert queued() == set()
    assert len(indexed()) == 2  # the index is read unfiltered (migration 0008)
    assert search_index_pending_drain() == 0


@postgres_only
def test_a_deleted_message_leaves_the_queue(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Brief"))
        assert len(queued()) == 1
        store(box, removed=["a1"])
        assert not Message.objects.exists()
        assert queued() == set()


@postgres_only
def test_a_participant_change_after_indexing_queues_the_message_again(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="People"))
        search_index_now(org_a.organization.pk)
        message = Message.objects.get()
        message.participants.update(name="Dana Quinn")
        assert queued() == {message.pk}
        assert found(org_a, "from:quinn") == ["People"]


@postgres_only
def test_each_organization_sees_only_its_own_queue(org_a: Tenant, org_b: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Alpha only"))
    with org_b.scope():
        assert queued() == set()
        assert search_index_now(org_a.organization.pk) == 0
    with org_a.scope():
        assert len(queued()) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_drains_at_once_never_index_a_message_twice(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, *(Mail(f"a{i}", "dana@customer.test", subject=f"M{i}") for i in range(5)))
    organization_id = org_a.organization.pk
    other: Any = connections.create_connection("default")
    try:
        other.set_autocommit(False)
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT set_config(%s, %s, true)", [ORGANIZATION_SETTING, str(organization_id)]
            )
            cursor.execute("SELECT mail_search_index(%s, 3)", [organization_id])
            assert cursor.fetchone()[0] == 3
            with org_a.scope():
                # The other drain holds its 3 (uncommitted): this one takes the 2 left.
                assert search_index_now(organization_id) == 2
            other.commit()
    finally:
        other.close()
    with org_a.scope():
        assert queued() == set()
        assert len(indexed()) == 5
