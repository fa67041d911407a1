"""factory_boy factories for mail. Tenant records take their organization from the current
context (``with tenant.scope():``), like ``tests.factories``.

``mail_message(...)`` builds one stored e-mail as the pipeline would: the message, the copy in a
mailbox and its participants, in a thread (a new one unless given).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import factory

from integrations.connections.models import Connection
from integrations.mail.models import (
    Direction,
    Mailbox,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ParticipantRole,
)
from tests.factories import UserFactory

BASE_TIME = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    user = factory.SubFactory(UserFactory)
    provider = "google"
    account_id = factory.Sequence(lambda n: f"subject-{n}")
    email = factory.LazyAttribute(lambda o: o.user.email)
    display_name = factory.LazyAttribute(lambda o: o.user.get_full_name())
    capabilities = factory.LazyFunction(lambda: ["email"])


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox

    connection = factory.SubFactory(ConnectionFactory)
    owner = factory.LazyAttribute(lambda o: o.connection.user)
    provider = factory.LazyAttribute(lambda o: o.connection.provider)
    address = factory.LazyAttribute(lambda o: o.connection.email)
    display_name = factory.LazyAttribute(lambda o: o.connection.display_name)


class MailThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailThread

    subject = factory.Sequence(lambda n: f"Proposal, round {n}")
    first_message_at = BASE_TIME
    last_message_at = BASE_TIME
    message_count = 1


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    rfc_message_id = factory.Sequence(lambda n: f"<message-{n}@mail.test>")
    thread = factory.SubFactory(MailThreadFactory)
    subject = factory.LazyAttribute(lambda o: o.thread.subject)
    sent_at = BASE_TIME
    from_address = "someone@example.test"
    snippet = "Thanks for the call today. Attached is the proposal we discussed."
    text_body = "Thanks for the call today."
    direction = Direction.INBOUND


class MessageCopyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageCopy

    mailbox = factory.SubFactory(MailboxFactory)
    message = factory.SubFactory(MessageFactory)
    provider_message_id = factory.Sequence(lambda n: f"provider-{n}")
    provider_thread_id = factory.LazyAttribute(lambda o: f"thread-{o.message.thread_id}")
    folder_ids = factory.LazyFunction(lambda: ["INBOX"])
    in_inbox = True
    received_at = factory.LazyAttribute(lambda o: o.message.sent_at)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    message = factory.SubFactory(MessageFactory)
    role = ParticipantRole.TO
    address = factory.Sequence(lambda n: f"person{n}@example.test")
    name = ""


Person = str | tuple[str, str]  # "a@x.test" or ("a@x.test", "Display Name")


def _person(person: Person) -> tuple[str, str]:
    """Addresses stored normalized, as the pipeline stores them (RemoteAddress)."""
    address, name = (person, "") if isinstance(person, str) else person
    return address.strip().lower(), name


def mail_message(
    mailbox: Mailbox,
    *,
    sender: Person,
    to: Sequence[Person] = (),
    cc: Sequence[Person] = (),
    bcc: Sequence[Person] = (),
    thread: MailThread | None = None,
    direction: str | None = None,
    sent_at: datetime | None = None,
    folder_ids: Sequence[str] = ("INBOX",),
    **fields: Any,
) -> Message:
    """One stored message with its copy in ``mailbox`` and its participants. The direction is
    outbound when ``sender`` is the mailbox, inbound otherwise, unless given."""
    address, name = _person(sender)
    if direction is None:
        direction = Direction.OUTBOUND if address == mailbox.address else Direction.INBOUND
    sent_at = sent_at or BASE_TIME + timedelta(minutes=Message.objects.count())
    thread = thread or MailThreadFactory(
        subject=fields.get("subject", "Proposal"), first_message_at=sent_at
    )
    message = MessageFactory(
        thread=thread,
        from_address=address,
        from_name=name,
        direction=direction,
        sent_at=sent_at,
        subject=fields.pop("subject", thread.subject),
        **fields,
    )
    MessageCopyFactory(mailbox=mailbox, message=message, folder_ids=list(folder_ids))
    roles = [
        (ParticipantRole.FROM, [sender]),
        (ParticipantRole.TO, to),
        (ParticipantRole.CC, cc),
        (ParticipantRole.BCC, bcc),
    ]
    position = 0
    for role, people in roles:
        for person in people:
            address, name = _person(person)
            ParticipantFactory(
                message=message, role=role, address=address, name=name, position=position
            )
            position += 1
    MailThread.objects.filter(pk=thread.pk).update(
        message_count=thread.messages.count(), last_message_at=sent_at
    )
    return message
