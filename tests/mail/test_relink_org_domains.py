"""Past mail follows the organization's own domains: a domain that becomes internal stops
giving its people accounts, one that stops being internal matches accounts again.

Every test saves the organization as the admin and the demo seeding do, then runs what the
transaction queued for its commit: the signal → on_commit → relink task path, end to end.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crm import services
from crm.models import Account, Organization
from integrations.mail.matching import match_messages
from integrations.mail.models import LinkSource, Mailbox, Message, Participant, ThreadLink
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
    assert sent == [{"domains": ["sister.test"]}]
