"""A conversation a sync page starts carries its counts from the start; the recount that follows
fixes what the page could not know (a later page's or another mailbox's messages) and leaves
the rest unwritten."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from integrations.mail.models import Mailbox, MailThread
from integrations.mail.threads import threads_recount
from tests.conftest import Tenant
from tests.mail.inbox.support import T0, Mail, mailbox_of, store

pytestmark = pytest.mark.django_db

CUSTOMER = "dana@customer.test"


def _page(mailbox: Mailbox, *mail: Mail) -> None:
    """One page stored as a sync run stores it: on PostgreSQL its conversations are only
    queued for the recount."""
    store(mailbox, *mail, recount_later=connection.vendor == "postgresql")


def test_a_conversation_a_page_starts_has_its_counts_before_any_recount(org_a: Tenant) -> None:
    with org_a.scope():
        mailbox = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        _page(
            mailbox,
            Mail("m1", CUSTOMER, ["alice@alpha.test"], thread="t-deal", at=5),
            Mail("m2", "alice@alpha.test", [CUSTOMER], thread="t-deal", at=30),
            Mail("m3", CUSTOMER, ["alice@alpha.test"], thread="t-other", at=12),
        )
        counts = {
            t.message_count: (t.first_message_at, t.last_message_at)
            for t in MailThread.objects.all()
        }
    assert counts == {
        2: (T0 + timedelta(minutes=5), T0 + timedelta(minutes=30)),
        1: (T0 + timedelta(minutes=12), T0 + timedelta(minutes=12)),
    }


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a row version's place: PostgreSQL's ctid"
)
def test_the_recount_writes_only_the_conversations_whose_counts_changed(org_a: Tenant) -> None:
    with org_a.scope():
        mailbox = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        _page(mailbox, Mail("m1", CUSTOMER, ["alice@alpha.test"], thread="t-deal", at=5))
        _page(mailbox, Mail("m2", CUSTOMER, ["alice@alpha.test"], thread="t-quiet", at=8))
        _page(mailbox, Mail("m3", "alice@alpha.test", [CUSTOMER], thread="t-deal", at=40))
        deal = MailThread.objects.get(messages__copies__provider_message_id="m1")
        quiet = MailThread.objects.get(messages__copies__provider_message_id="m2")
        before = _row_versions()

        remaining = threads_recount([deal.pk, quiet.pk])

        deal.refresh_from_db()
        after = _row_versions()
    assert remaining == {deal.pk, quiet.pk}
    assert (deal.message_count, deal.last_message_at) == (2, T0 + timedelta(minutes=40))
    assert after[quiet.pk] == before[quiet.pk]  # not rewritten
    assert after[deal.pk] != before[deal.pk]


def _row_versions() -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, ctid::text FROM mail_mailthread")
        return dict(cursor.fetchall())
