"""Mail fixtures: organization A owns alpha.test, Alice has a connected mailbox in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction

from config.celery import app
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

TEAM_SUBJECT = "Renewal terms for 2027"
TEAM_SNIPPET = "We can do 12% off if you sign by Friday."


@pytest.fixture
def mailbox(org_a: Tenant) -> Mailbox:
    """Alice's mailbox (alice@alpha.test); alpha.test is A's own domain."""
    org_a.organization.email_domains = ["alpha.test"]
    org_a.organization.save(update_fields=["email_domains"])
    with org_a.scope():
        return MailboxFactory(connection=ConnectionFactory(user=org_a.owner))


@pytest.fixture
def eager_tasks(settings: Any) -> Iterator[None]:
    """Celery tasks run in the calling process (after the commit that queues them)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def commit(eager_tasks: None) -> Callable[[], None]:
    """Run what the current transaction queued for its commit, as a real commit would (the test
    transaction itself never commits): relink tasks run at once, in this process."""

    def run() -> None:
        connection = transaction.get_connection()
        while connection.run_on_commit:
            callbacks = [func for _, func, _ in connection.run_on_commit]
            connection.run_on_commit = []
            for callback in callbacks:
                callback()

    return run


@pytest.fixture
def erin(org_a: Tenant) -> User:
    """Another plain member of A: neither a mailbox's owner nor an admin."""
    user = UserFactory(email="erin@alpha.test")
    MembershipFactory(user=user, organization=org_a.organization, role=Role.MEMBER)
    return user


@dataclass
class AdaMail:
    mailbox: Mailbox
    contact: Contact
    account: Account
    deal: Deal
    thread: MailThread
    message: Message


def ada_team_mail(org_a: Tenant) -> AdaMail:
    """Bob's mailbox holds a thread with Ada (a contact of Acme, on an open deal), matched and
    linked the way the sync pipeline links it."""
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
            subject=TEAM_SUBJECT,
            snippet=TEAM_SNIPPET,
        )
        match_messages(mailbox=box, messages=[message])
    return AdaMail(box, contact, acme, deal, message.thread, message)
