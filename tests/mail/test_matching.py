"""match_messages and MessageFilter: contacts by any address, accounts by contact or work domain,
auto-creation policies, deals, and a constant number of queries per batch."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact, DealStage
from integrations.mail.matching import match_messages
from integrations.mail.models import (
    AddressRule,
    ContactCreation,
    Mailbox,
    Message,
    Participant,
    ThreadLink,
)
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
)
from tests.mail.factories import mail_message

pytestmark = pytest.mark.django_db

ALICE = "alice@alpha.test"


def _links(message: Message) -> set[tuple[str, int]]:
    links = set()
    for link in ThreadLink.objects.filter(thread_id=message.thread_id):
        kind = "contact" if link.contact_id else "account" if link.account_id else "deal"
        links.add((kind, link.contact_id or link.account_id or link.deal_id))
    return links


def _participant(message: Message, address: str) -> Participant:
    return Participant.objects.get(message=message, address=address)


def _set_policy(mailbox: Mailbox, policy: str) -> None:
    mailbox.contact_creation = policy
    mailbox.save(update_fields=["contact_creation"])


# --- Matching --------------------------------------------------------------------------------


def test_a_contact_matches_by_its_primary_and_its_secondary_addresses(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        ada = ContactFactory(first_name="Ada")
        ContactEmailFactory(contact=ada, email="ada@acme.test", is_primary=True)
        ContactEmailFactory(contact=ada, email="ada.home@private.test", is_primary=False)
        first = mail_message(mailbox, sender="ada@acme.test", to=[ALICE])
        second = mail_message(mailbox, sender="ada.home@private.test", to=[ALICE])

        match_messages(mailbox=mailbox, messages=[first, second])

        assert _participant(first, "ada@acme.test").contact_id == ada.pk
        assert _participant(second, "ada.home@private.test").contact_id == ada.pk
        assert ("contact", ada.pk) in _links(first) and ("contact", ada.pk) in _links(second)
        assert _participant(first, ALICE).contact_id is None


def test_the_account_is_the_contacts_account_before_any_domain(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        holding = AccountFactory(name="Acme Holding")
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        ada = ContactFactory(account=holding)
        ContactEmailFactory(contact=ada, email="ada@acme.test")
        message = mail_message(mailbox, sender="ada@acme.test", to=[ALICE])

        match_messages(mailbox=mailbox, messages=[message])

        assert _participant(message, "ada@acme.test").account_id == holding.pk
        assert _links(message) == {("contact", ada.pk), ("account", holding.pk)}


def test_an_unknown_person_matches_the_account_of_their_domain_and_of_a_parent_domain(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        message = mail_message(
            mailbox, sender="bob@acme.test", to=[ALICE], cc=["carla@eu.sales.acme.test"]
        )

        match_messages(mailbox=mailbox, messages=[message])

        assert _participant(message, "bob@acme.test").account_id == acme.pk
        assert _participant(message, "carla@eu.sales.acme.test").account_id == acme.pk
        assert _participant(message, "bob@acme.test").contact_id is None
        assert _links(message) == {("account", acme.pk)}


def test_the_most_specific_domain_wins(org_a: Tenant, mailbox: Mailbox) -> None:
    with org_a.scope():
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        acme_eu = AccountFactory(name="Acme Europe")
        AccountDomainFactory(account=acme_eu, domain="eu.acme.test")
        message = mail_message(mailbox, sender="carla@eu.acme.test", to=[ALICE])

        match_messages(mailbox=mailbox, messages=[message])

        assert _participant(message, "carla@eu.acme.test").account_id == acme_eu.pk


def test_free_mail_and_own_domains_never_match_accounts(org_a: Tenant, mailbox: Mailbox) -> None:
    with org_a.scope():
        # Someone filed these domains on accounts; mail must still not link by them.
        AccountDomainFactory(account=AccountFactory(name="Gmail?"), domain="gmail.com")
        AccountDomainFactory(account=AccountFactory(name="Outlook?"), domain="outlook.com")
        AccountDomainFactory(account=AccountFactory(name="Ourselves"), domain="alpha.test")
        message = mail_message(
            mailbox,
            sender="someone@gmail.com",
            to=[ALICE, "dave@alpha.test"],
            cc=["x@mail.outlook.com"],
        )

        match_messages(mailbox=mailbox, messages=[message])

        assert not Participant.objects.filter(account__isnull=False).exists()
        assert not ThreadLink.objects.exists()


def test_an_address_rule_wins_over_the_contacts_address(org_a: Tenant, mailbox: Mailbox) -> None:
    with org_a.scope():
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="shared@acme.test")
        grace = ContactFactory()
        AddressRule.objects.create(address="shared@acme.test", contact=grace)
        message = mail_message(mailbox, sender="shared@acme.test", to=[ALICE])

        match_messages(mailbox=mailbox, messages=[message])

        assert _participant(message, "shared@acme.test").contact_id == grace.pk
        link = ThreadLink.objects.get(thread_id=message.thread_id, contact=grace)
        assert link.source == "rule"
        assert not ThreadLink.objects.filter(contact=ada).exists()


# --- Deals -------------------------------------------------------------------------------------


def _deal_for(org_a: Tenant, contact: Contact, stage: str = DealStage.PROPOSAL) -> int:
    deal = DealFactory(stage=stage)
    deal.contacts.add(contact, through_defaults={"organization": org_a.organization})
    return deal.pk


def test_a_thread_links_to_the_one_open_deal_of_a_matched_contact(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="ada@acme.test")
        deal = _deal_for(org_a, ada)
        _deal_for(org_a, ada, DealStage.WON)
        message = mail_message(mailbox, sender=ALICE, to=["ada@acme.test"])

        match_messages(mailbox=mailbox, messages=[message])

        assert ("deal", deal) in _links(message)


def test_no_deal_is_guessed_when_the_contact_has_several_open_deals(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="ada@acme.test")
        _deal_for(org_a, ada)
        _deal_for(org_a, ada, DealStage.LEAD)
        message = mail_message(mailbox, sender=ALICE, to=["ada@acme.test"])

        match_messages(mailbox=mailbox, messages=[message])

        assert not ThreadLink.objects.filter(deal__isnull=False).exists()


# --- Contact creation --------------------------------------------------------------------------


def test_policy_sent_creates_the_recipients_of_outbound_mail_only(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        _set_policy(mailbox, ContactCreation.SENT)
        outbound = mail_message(
            mailbox, sender=ALICE, to=[("ada@acme.test", "Ada Lovelace")], cc=["bob@alpha.test"]
        )
        inbound = mail_message(mailbox, sender=("grace@navy.test", "Grace Hopper"), to=[ALICE])

        outcome = match_messages(mailbox=mailbox, messages=[outbound, inbound])

        ada = Contact.objects.get()
        assert (ada.first_name, ada.last_name, ada.owner_id) == ("Ada", "Lovelace", org_a.owner.pk)
        assert list(ada.emails.values_list("email", flat=True)) == ["ada@acme.test"]
        assert outcome.contacts_created == 1
        assert _participant(outbound, "ada@acme.test").contact_id == ada.pk
        assert ("contact", ada.pk) in _links(outbound)
        assert _participant(inbound, "grace@navy.test").contact_id is None


def test_policy_sent_and_received_also_creates_senders_of_inbound_mail(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        _set_policy(mailbox, ContactCreation.SENT_AND_RECEIVED)
        inbound = mail_message(
            mailbox,
            sender=("grace@navy.test", "HOPPER, GRACE"),
            to=[ALICE],
            cc=["kate@navy.test"],
        )

        match_messages(mailbox=mailbox, messages=[inbound])

        grace = Contact.objects.get()
        assert (grace.first_name, grace.last_name) == ("Grace", "Hopper")
        assert _participant(inbound, "grace@navy.test").contact_id == grace.pk
        assert _participant(inbound, "kate@navy.test").contact_id is None


def test_policy_none_creates_nobody(org_a: Tenant, mailbox: Mailbox) -> None:
    with org_a.scope():
        _set_policy(mailbox, ContactCreation.NONE)
        message = mail_message(mailbox, sender=ALICE, to=["ada@acme.test"])

        match_messages(mailbox=mailbox, messages=[message])

        assert not Contact.objects.exists()


def test_created_contacts_join_the_account_of_their_domain_and_no_account_is_created(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        message = mail_message(
            mailbox, sender=ALICE, to=["ada.lovelace@acme.test", "zed@unknown-corp.test"]
        )

        match_messages(mailbox=mailbox, messages=[message])

        ada = Contact.objects.get(emails__email="ada.lovelace@acme.test")
        assert (ada.first_name, ada.last_name, ada.account_id) == ("Ada", "Lovelace", acme.pk)
        assert Contact.objects.get(emails__email="zed@unknown-corp.test").account_id is None
        assert _links(message) >= {("contact", ada.pk), ("account", acme.pk)}
        assert acme.__class__.objects.count() == 1


@pytest.mark.parametrize(
    "junk",
    [
        "noreply@acme.test",
        "no-reply@acme.test",
        "donotreply@acme.test",
        "do-not-reply@acme.test",
        "mailer-daemon@acme.test",
        "postmaster@acme.test",
        "bounces+12345@acme.test",
        "bounce@acme.test",
        "notifications@acme.test",
        "newsletter@acme.test",
        "reply+AAB4C2D9E8F7A6B5@reply.codehub.dev",
        "0100018c2b3c4e5f-1234abcd@amazonses.com",
        "team@lists.revopsforum.org",
    ],
)
def test_junk_addresses_never_become_contacts(org_a: Tenant, mailbox: Mailbox, junk: str) -> None:
    with org_a.scope():
        _set_policy(mailbox, ContactCreation.SENT_AND_RECEIVED)
        inbound = mail_message(mailbox, sender=(junk, "Acme"), to=[ALICE])
        outbound = mail_message(mailbox, sender=ALICE, to=[junk])

        match_messages(mailbox=mailbox, messages=[inbound, outbound])

        assert not Contact.objects.exists()


def test_nobody_on_automated_or_bulk_mail_becomes_a_contact(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        _set_policy(mailbox, ContactCreation.SENT_AND_RECEIVED)
        messages = [
            mail_message(
                mailbox,
                sender=("events@cloudconf.events", "CloudConf"),
                to=[ALICE],
                folder_ids=["INBOX", "CATEGORY_PROMOTIONS"],
            ),
            mail_message(mailbox, sender="win@prize-claim.top", to=[ALICE], folder_ids=["SPAM"]),
            mail_message(
                mailbox,
                sender=("robot@acme.test", "No Reply"),
                to=[ALICE],
                cc=["ada@acme.test"],
            ),
        ]

        match_messages(mailbox=mailbox, messages=messages)

        assert not Contact.objects.exists()


def test_the_organizations_own_people_never_become_contacts(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        message = mail_message(
            mailbox, sender=ALICE, to=["bob@alpha.test", "carol@sales.alpha.test"], cc=[ALICE]
        )

        match_messages(mailbox=mailbox, messages=[message])

        assert not Contact.objects.exists()


def test_a_person_in_many_messages_of_a_batch_is_created_once(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    with org_a.scope():
        messages = [
            mail_message(mailbox, sender=ALICE, to=["ada@acme.test"], cc=[f"p{i}@acme.test"])
            for i in range(3)
        ]

        match_messages(mailbox=mailbox, messages=messages)

        assert Contact.objects.filter(emails__email="ada@acme.test").count() == 1
        assert Participant.objects.filter(address="ada@acme.test", contact=None).count() == 0


# --- The cost of a batch -----------------------------------------------------------------------


def _batch(mailbox: Mailbox, size: int, threads: int) -> list[Message]:
    """``size`` messages over ``threads`` threads, three participants each."""
    firsts = [
        mail_message(mailbox, sender=ALICE, to=["ada@acme.test"], cc=[f"p{t}@acme.test"])
        for t in range(threads)
    ]
    replies = [
        mail_message(
            mailbox,
            sender=(f"p{i % threads}@acme.test", f"Person {i % threads}"),
            to=[ALICE],
            cc=["ada@acme.test"],
            thread=firsts[i % threads].thread,
        )
        for i in range(size - threads)
    ]
    return firsts + replies


def test_match_messages_runs_the_same_number_of_queries_for_any_batch_size(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    """Per batch, not per message. (Links are per thread: with 10 threads each batch calls for
    the same links, so Django's bulk INSERT is one statement on every database — SQLite splits
    INSERTs above 999 parameters, about 120 links, into several.)"""
    counts = []
    with org_a.scope():
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        ada = ContactFactory()
        ContactEmailFactory(contact=ada, email="ada@acme.test")
        _deal_for(org_a, ada)
        _set_policy(mailbox, ContactCreation.SENT_AND_RECEIVED)
        for size in (10, 100):
            Contact.objects.exclude(pk=ada.pk).delete()
            ThreadLink.objects.all().delete()
            Message.objects.all().delete()
            batch = _batch(mailbox, size, threads=10)
            with CaptureQueriesContext(connection) as queries:
                outcome = match_messages(mailbox=mailbox, messages=batch)
            assert outcome.contacts_created == 10
            counts.append(len(queries))

    assert counts[0] == counts[1], counts
    assert counts[0] <= 16
