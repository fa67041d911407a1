"""Past mail follows the organization's own domains: a domain that becomes internal stops
giving its people accounts and makes mail with them internal or outbound, one that stops being
internal matches accounts again and its mail is inbound again; the inbox's direction filter
follows.

Every test saves the organization as the admin and the demo seeding do, then runs what the
transaction queued for its commit: the signal → on_commit → relink task path, end to end.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crm import services
from crm.models import Account, Organization
from integrations.mail.matching import match_messages
from integrations.mail.models import (
    Direction,
    LinkSource,
    Mailbox,
    MailboxThread,
    Message,
    Participant,
    ThreadLink,
)
from tests.conftest import Tenant
from tests.mail.factories import mail_message

pytestmark = pytest.mark.django_db

ALICE = "alice@alpha.test"
Commit = Callable[[], None]


def _domains_set(organization: Organization, domains: list[str]) -> None:
    organization.email_domains = domains
    organization.save(update_fields=["email_domains"])


def _stored(mailbox: Mailbox, *people: str) -> list[Message]:
    """Mail already synced and matched under the domains as they were."""
    mailbox.contact_creation = "none"
    messages = [mail_message(mailbox, sender=person, to=[ALICE]) for person in people]
    match_messages(mailbox=mailbox, messages=messages)
    return messages


def _account_links(account: Account) -> dict[int, str]:
    return dict(ThreadLink.objects.filter(account=account).values_list("thread_id", "source"))


def _account_of(address: str) -> int | None:
    return Participant.objects.get(address=address).account_id


def test_a_domain_that_becomes_internal_loses_its_automatic_account_links(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        sister = services.account_save(name="Sister company", domains=["sister.test"])
        direct, subdomain, manual, other = _stored(
            mailbox, "pat@sister.test", "dan@eu.sister.test", "eve@sister.test", "ann@client.test"
        )
        ThreadLink.objects.filter(thread_id=manual.thread_id, account=sister).update(
            source=LinkSource.MANUAL
        )
        assert set(_account_links(sister)) == {
            direct.thread_id,
            subdomain.thread_id,
            manual.thread_id,
        }
        commit()

        _domains_set(org_a.organization, ["alpha.test", "sister.test"])
        commit()

        assert _account_links(sister) == {manual.thread_id: LinkSource.MANUAL}
        assert _account_of("pat@sister.test") is None
        assert _account_of("dan@eu.sister.test") is None
        assert Message.objects.filter(pk=other.pk).exists()


def test_a_domain_that_stops_being_internal_matches_its_account_again(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        _domains_set(org_a.organization, ["alpha.test", "sister.test"])
        sister = services.account_save(name="Sister company", domains=["sister.test"])
        (message,) = _stored(mailbox, "pat@sister.test")
        commit()
        assert _account_of("pat@sister.test") is None
        assert _account_links(sister) == {}

        _domains_set(org_a.organization, ["alpha.test"])
        commit()

        assert _account_of("pat@sister.test") == sister.pk
        assert _account_links(sister) == {message.thread_id: LinkSource.AUTOMATIC}


def test_a_domain_still_owned_through_a_connected_mailbox_stays_internal(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        ours = services.account_save(name="Alpha itself", domains=["alpha.test"])
        _stored(mailbox, "bob@alpha.test")
        commit()

        # alice@alpha.test is a connected mailbox: alpha.test is still the organization's own.
        _domains_set(org_a.organization, [])
        commit()

        assert _account_of("bob@alpha.test") is None
        assert _account_links(ours) == {}


def test_saving_the_organization_without_a_domain_change_queues_no_relink(
    org_a: Tenant, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, commit: Commit
) -> None:
    from integrations.mail import tasks_matching

    commit()
    sent: list[dict[str, list[object]]] = []
    monkeypatch.setattr(
        tasks_matching.mail_relink_task, "delay", lambda org, **items: sent.append(items)
    )
    organization = org_a.organization

    organization.name = "Alpha Sales Europe"
    organization.save()
    _domains_set(organization, [" Alpha.TEST "])
    commit()
    assert sent == []

    _domains_set(organization, ["alpha.test", "sister.test"])
    commit()
    assert sent == [{"own_domains": ["sister.test"]}]


def _directions(*messages: Message) -> list[str]:
    return [Message.objects.get(pk=m.pk).direction for m in messages]


def test_mail_with_a_domain_that_becomes_internal_is_internal_or_outbound(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        (from_sister,) = _stored(mailbox, "pat@eu.sister.test")
        to_sister = mail_message(mailbox, sender="pat@sister.test", to=["ann@client.test"])
        from_client = mail_message(mailbox, sender="ann@client.test", to=["pat@sister.test"])
        commit()
        assert _directions(from_sister, to_sister, from_client) == [Direction.INBOUND] * 3

        _domains_set(org_a.organization, ["alpha.test", "sister.test"])
        commit()

        assert _directions(from_sister, to_sister, from_client) == [
            Direction.INTERNAL,  # pat (a subdomain) to Alice: both the organization's own
            Direction.OUTBOUND,  # pat to a client
            Direction.INBOUND,  # a client to pat
        ]
        rows = MailboxThread.objects.filter(thread_id=from_sister.thread_id, scope=0)
        assert rows.values_list("inbound", "outbound").get() == (False, False)


def test_mail_with_a_domain_that_stops_being_internal_is_inbound_again(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        _domains_set(org_a.organization, ["alpha.test", "sister.test"])
        commit()
        (message,) = _stored(mailbox, "pat@sister.test")
        Message.objects.filter(pk=message.pk).update(direction=Direction.INTERNAL)
        commit()

        _domains_set(org_a.organization, ["alpha.test"])
        commit()

        assert _directions(message) == [Direction.INBOUND]
        rows = MailboxThread.objects.filter(thread_id=message.thread_id, scope=0)
        assert rows.values_list("inbound", flat=True).get() is True
