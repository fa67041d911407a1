"""The inbox's rows and folder counters stay what a rebuild from the copies would give, through
every change of copies: sync deliveries, provider-side flag changes, removals, local toggles,
the blocklist purge, a mailbox turning private, a mailbox deleted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrations.mail.blocklist import blocklist_entry_add
from integrations.mail.flags import Flag, set_flag
from integrations.mail.inbox_rows import inbox_rows_refresh
from integrations.mail.models import MailboxThread, Message, Visibility
from integrations.mail.models.inbox import TEAM_SCOPE
from integrations.mail.services import mailbox_update
from tests.conftest import Tenant
from tests.mail.inbox.support import (
    PROVIDERS,
    Mail,
    change,
    kept_state,
    mailbox_of,
    rebuilt_state,
    store,
)

pytestmark = pytest.mark.django_db

CUSTOMER = "dana@customer.test"


def assert_exact(org: Tenant) -> None:
    assert kept_state() == rebuilt_state(org.organization.pk)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sync_deliveries_flag_changes_and_removals_keep_the_counters_exact(
    org_a: Tenant, provider: str
) -> None:
    with org_a.scope():
        alice = mailbox_of(org_a.owner, provider, "alice@alpha.test")
        shared = mailbox_of(org_a.member, provider, "sales@alpha.test", kind="shared")
        store(
            alice,
            Mail("a1", CUSTOMER, ["alice@alpha.test"], at=1, thread="x", rfc="<m1@c>"),
            Mail("a2", "alice@alpha.test", [CUSTOMER], at=2, thread="x", place="sent", read=True),
            Mail("a3", CUSTOMER, ["alice@alpha.test"], at=3, place="archive", attachment=True),
        )
        assert_exact(org_a)
        # The first message reached the shared mailbox too: one message, two copies.
        store(shared, Mail("s1", CUSTOMER, ["sales@alpha.test"], at=1, rfc="<m1@c>", read=True))
        assert_exact(org_a)
        change(alice, "a1", place="archive", read=True, starred=True)
        assert_exact(org_a)
        store(alice, removed=["a3"])
        assert_exact(org_a)
        # Gone from the shared mailbox only: the message stays, the shared mailbox's row goes.
        store(shared, removed=["s1"])
        assert_exact(org_a)
        with connection.cursor():
            assert MailboxThread.objects.filter(scope=TEAM_SCOPE).count() == 1


def test_local_toggles_and_the_blocklist_purge_keep_the_counters_exact(org_a: Tenant) -> None:
    with org_a.scope():
        alice = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(
            alice,
            Mail("a1", CUSTOMER, ["alice@alpha.test"], at=1),
            Mail("a2", "spam@junk.test", ["alice@alpha.test"], at=2),
        )
        first = Message.objects.get(rfc_message_id="<a1@mail.test>")
        set_flag(user=org_a.owner, message_ids=[first.pk], flag=Flag.READ, value=True)
        assert_exact(org_a)
        set_flag(user=org_a.owner, message_ids=[first.pk], flag=Flag.ARCHIVED, value=True)
        assert_exact(org_a)
        blocklist_entry_add(value="@junk.test", user=org_a.owner)
        assert_exact(org_a)
        assert MailboxThread.objects.filter(scope=TEAM_SCOPE).count() == 1


def test_a_private_mailbox_leaves_the_team_rows_and_comes_back(org_a: Tenant) -> None:
    with org_a.scope():
        alice = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(alice, Mail("a1", CUSTOMER, ["alice@alpha.test"], at=1))
        mailbox_update(mailbox=alice, visibility=Visibility.PRIVATE)
        assert not MailboxThread.objects.filter(scope=TEAM_SCOPE).exists()
        assert_exact(org_a)
        mailbox_update(mailbox=alice, visibility=Visibility.SUBJECT)
        assert MailboxThread.objects.filter(scope=TEAM_SCOPE).count() == 1
        assert_exact(org_a)


def test_a_deleted_mailbox_takes_its_rows_and_its_share_of_the_team_rows(org_a: Tenant) -> None:
    with org_a.scope():
        alice = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        shared = mailbox_of(org_a.member, "google", "sales@alpha.test", kind="shared")
        store(alice, Mail("a1", CUSTOMER, ["alice@alpha.test"], at=1, rfc="<m1@c>"))
        store(shared, Mail("s1", CUSTOMER, ["sales@alpha.test"], at=1, rfc="<m1@c>", read=True))
        store(shared, Mail("s2", CUSTOMER, ["sales@alpha.test"], at=5))
        shared.connection.delete()
        assert_exact(org_a)
        assert MailboxThread.objects.filter(scope=TEAM_SCOPE).count() == 1


def test_a_recount_costs_the_same_number_of_queries_for_one_thread_or_many(
    org_a: Tenant,
) -> None:
    with org_a.scope():
        alice = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        # Ten conversations: one INSERT even where SQLite splits bulk inserts by parameters.
        store(alice, *[Mail(f"a{i}", CUSTOMER, ["alice@alpha.test"], at=i) for i in range(10)])
        threads = list(Message.objects.values_list("thread_id", flat=True))
        MailboxThread.objects.all().delete()
        with CaptureQueriesContext(connection) as one:
            inbox_rows_refresh(threads[:1])
        MailboxThread.objects.all().delete()
        with CaptureQueriesContext(connection) as many:
            inbox_rows_refresh(threads)
    assert len(one) == len(many)
