"""Organization A's team mail: Bob's mailbox holds a thread with Ada (a contact of Acme, on an
open deal), matched and linked the way the sync pipeline links it; Erin is another plain member.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from crm.models import Account, Contact, Deal, Role, User
from integrations.mail.matching import match_messages
from integrations.mail.models import Mailbox, MailThread, Message
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    MembershipFactory,
    UserFactory,
)
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

BASE = "/api/v1/integrations/email"
SUBJECT = "Renewal terms for 2027"
SNIPPET = "We can do 12% off if you sign by Friday."


@dataclass
class AdaMail:
    mailbox: Mailbox
    contact: Contact
    account: Account
    deal: Deal
    thread: MailThread
    message: Message


@pytest.fixture
def erin(org_a: Tenant) -> User:
    """Another plain member of A: neither a mailbox's owner nor an admin."""
    user = UserFactory(email="erin@alpha.test")
    MembershipFactory(user=user, organization=org_a.organization, role=Role.MEMBER)
    return user


@pytest.fixture
def ada(org_a: Tenant) -> AdaMail:
    org_a.organization.email_domains = ["alpha.test"]
    org_a.organization.save(update_fields=["email_domains"])
    with org_a.scope():
        acme = AccountFactory(name="Acme")
        AccountDomainFactory(account=acme, domain="acme.test")
        contact = ContactFactory(first_name="Ada", last_name="Lovelace", account=acme)
        ContactEmailFactory(contact=contact, email="ada@acme.test")
        deal = DealFactory(name="Acme renewal", account=acme)
        deal.contacts.add(contact, through_defaults={"organization": org_a.organization})
        box = MailboxFactory(connection=ConnectionFactory(user=org_a.member))
        message = mail_message(
            box,
            sender=(box.address, "Bob"),
            to=[("ada@acme.test", "Ada Lovelace")],
            subject=SUBJECT,
            snippet=SNIPPET,
        )
        match_messages(mailbox=box, messages=[message])
    return AdaMail(box, contact, acme, deal, message.thread, message)
