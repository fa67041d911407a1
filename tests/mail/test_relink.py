"""Past mail follows the CRM: contacts and accounts created or edited after the mail arrived.

Every test saves through the CRM services (as the web UI and the API do) and then runs what the
transaction queued for its commit: the signal → on_commit → relink task path, end to end.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crm import services
from crm.models import Account, Contact
from integrations.mail.matching import match_messages
from integrations.mail.models import LinkSource, Mailbox, Message, Participant, ThreadLink
from integrations.mail.tasks_matching import relink_later
from tests.conftest import Tenant
from tests.factories import ContactFactory
from tests.mail.factories import mail_message

pytestmark = pytest.mark.django_db

ALICE = "alice@alpha.test"
Commit = Callable[[], None]


def _stored(mailbox: Mailbox, *people: str) -> list[Message]:
    """Mail already synced and matched before the CRM knew these people."""
    mailbox.contact_creation = "none"
    messages = [mail_message(mailbox, sender=person, to=[ALICE]) for person in people]
    match_messages(mailbox=mailbox, messages=messages)
    return messages


def _linked(record: Contact | Account) -> set[int]:
    field = "contact" if isinstance(record, Contact) else "account"
    return set(ThreadLink.objects.filter(**{field: record}).values_list("thread_id", flat=True))


def test_creating_a_contact_links_its_past_mail(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        first, second = _stored(mailbox, "ada@acme.test", "ada@home.test")
        assert not ThreadLink.objects.exists()

        ada = services.contact_save(first_name="Ada", emails=["ada@acme.test", "ada@home.test"])
        commit()

        assert _linked(ada) == {first.thread_id, second.thread_id}
        assert set(Participant.objects.filter(contact=ada).values_list("address", flat=True)) == {
            "ada@acme.test",
            "ada@home.test",
        }


def test_removing_an_address_from_a_contact_unlinks_that_mail_but_not_manual_links(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        ada = services.contact_save(first_name="Ada", emails=["ada@acme.test", "ada@home.test"])
        work, home = _stored(mailbox, "ada@acme.test", "ada@home.test")
        assert _linked(ada) == {work.thread_id, home.thread_id}
        ThreadLink.objects.filter(thread_id=work.thread_id, contact=ada).update(
            source=LinkSource.MANUAL
        )

        services.contact_save(contact=ada, emails=["ada@acme.test"])
        services.contact_save(contact=ada, emails=["ada@other.test"])
        commit()

        assert _linked(ada) == {work.thread_id}
        assert not Participant.objects.filter(contact=ada).exists()


def test_moving_a_contact_to_an_account_moves_its_mail_too(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        old = services.account_save(name="Old employer")
        ada = services.contact_save(first_name="Ada", account=old, emails=["ada@gmail.com"])
        (message,) = _stored(mailbox, "ada@gmail.com")
        assert _linked(old) == {message.thread_id}

        new = services.account_save(name="New employer")
        services.contact_save(contact=ada, account=new)
        commit()

        assert Participant.objects.get(address="ada@gmail.com").account_id == new.pk
        assert _linked(new) == {message.thread_id}
        assert _linked(old) == set()


def test_adding_and_removing_an_account_domain_relinks_mail_from_that_domain(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        bob, carla, other = _stored(
            mailbox, "bob@acme.test", "carla@eu.acme.test", "dan@elsewhere.test"
        )
        acme = services.account_save(name="Acme", domains=["acme.test"])
        commit()

        assert _linked(acme) == {bob.thread_id, carla.thread_id}
        assert Participant.objects.get(address="carla@eu.acme.test").account_id == acme.pk

        services.account_save(account=acme, domains=["elsewhere.test"])
        commit()

        assert _linked(acme) == {other.thread_id}
        assert Participant.objects.get(address="bob@acme.test").account_id is None


def test_putting_a_contact_on_a_deal_links_their_past_threads_to_it(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        ada = services.contact_save(first_name="Ada", emails=["ada@acme.test"])
        (message,) = _stored(mailbox, "ada@acme.test")

        deal = services.deal_save(name="Rollout", contacts=[ada])
        commit()

        assert ThreadLink.objects.filter(thread_id=message.thread_id, deal=deal).exists()


def test_deleting_a_contact_or_an_account_leaves_the_mail_in_place(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    with org_a.scope():
        acme = services.account_save(name="Acme", domains=["acme.test"])
        ada = services.contact_save(first_name="Ada", account=acme, emails=["ada@acme.test"])
        (message,) = _stored(mailbox, "ada@acme.test")

        services.record_delete(record=ada)
        services.record_delete(record=acme)
        commit()

        participant = Participant.objects.get(address="ada@acme.test")
        assert (participant.contact_id, participant.account_id) == (None, None)
        assert not ThreadLink.objects.exists()
        assert Message.objects.filter(pk=message.pk).exists()


def test_a_rolled_back_change_queues_no_relink(
    org_a: Tenant, mailbox: Mailbox, commit: Commit
) -> None:
    from django.db import transaction

    with org_a.scope():
        _stored(mailbox, "ada@acme.test")
        try:
            with transaction.atomic():
                ContactFactory(first_name="Ghost")
                services.contact_save(first_name="Ada", emails=["ada@acme.test"])
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        commit()

        assert not ThreadLink.objects.exists()


def test_one_transaction_queues_one_task_per_organization(
    org_a: Tenant, monkeypatch: pytest.MonkeyPatch, commit: Commit
) -> None:
    from integrations.mail import tasks_matching

    sent: list[tuple[int, dict[str, list[object]]]] = []
    monkeypatch.setattr(
        tasks_matching.mail_relink_task, "delay", lambda org, **items: sent.append((org, items))
    )
    organization_id = org_a.organization.pk
    with org_a.scope():
        for i in range(5):
            services.contact_save(first_name=f"P{i}", emails=[f"p{i}@acme.test"])
        relink_later(organization_id=organization_id, domains=["acme.test"])
        commit()

    assert len(sent) == 1
    assert sent[0][0] == organization_id
    assert sent[0][1]["addresses"] == [f"p{i}@acme.test" for i in range(5)]
    assert sent[0][1]["domains"] == ["acme.test"]
