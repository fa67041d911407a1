"""MessageFilter, built once per sync run: which mail is not stored (blocklist, internal-only)
and the direction of what is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.mail.matching import MessageFilter
from integrations.mail.models import BlocklistEntry, Direction, Mailbox
from integrations.providers.mail import RemoteAddress, RemoteMessage
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db

ALICE = "alice@alpha.test"


def _remote(sender: str, *to: str, cc: tuple[str, ...] = ()) -> RemoteMessage:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    return RemoteMessage(
        provider_id="m1",
        provider_thread_id="t1",
        rfc_message_id="<m1@x>",
        subject="Hello",
        sent_at=now,
        received_at=now,
        sender=RemoteAddress(sender),
        to=tuple(RemoteAddress(a) for a in to),
        cc=tuple(RemoteAddress(a) for a in cc),
    )


def test_direction_is_outbound_from_us_inbound_to_us_and_internal_between_us(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        message_filter = MessageFilter(mailbox=mailbox)

        assert message_filter.direction(_remote(ALICE, "ada@acme.test")) == Direction.OUTBOUND
        assert message_filter.direction(_remote("bob@alpha.test", "x@y.test")) == "outbound"
        assert message_filter.direction(_remote("ada@acme.test", ALICE)) == Direction.INBOUND
        internal = _remote(ALICE, "bob@alpha.test", cc=("carol@eu.alpha.test",))
        assert message_filter.direction(internal) == Direction.INTERNAL


def test_internal_mail_is_skipped_only_when_the_mailbox_excludes_it(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    internal = _remote(ALICE, "bob@alpha.test")
    with org_a.scope():
        assert MessageFilter(mailbox=mailbox).skip(internal)
        assert not MessageFilter(mailbox=mailbox).skip(_remote(ALICE, "ada@acme.test"))
        mailbox.exclude_internal = False
        assert not MessageFilter(mailbox=mailbox).skip(internal)


def test_the_mailboxes_of_the_organization_are_its_own_even_on_free_mail(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(address="alice.sales@gmail.com")
        mailbox.address = "alice.sales@gmail.com"
        message_filter = MessageFilter(mailbox=mailbox)

        assert message_filter.direction(_remote("alice.sales@gmail.com", "a@b.test")) == "outbound"
        assert message_filter.direction(_remote("friend@gmail.com", "a@b.test")) == "inbound"


def test_the_filter_skips_mail_with_any_blocked_participant(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        BlocklistEntry.objects.create(value="@news.test")
        BlocklistEntry.objects.create(value="pest@acme.test")
        message_filter = MessageFilter(mailbox=mailbox)

        assert message_filter.skip(_remote("digest@mail.news.test", ALICE))
        assert message_filter.skip(_remote(ALICE, "ada@acme.test", cc=("pest@acme.test",)))
        assert not message_filter.skip(_remote("ada@acme.test", ALICE))
