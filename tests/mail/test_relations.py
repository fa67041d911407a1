"""What belongs to an organization, a message or a conversation goes with it, also where the
database no longer checks the relation row by row (migration 0015): the models cascade."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from crm.tenancy import all_tenants
from integrations.mail.inbox_rows import inbox_rows_refresh
from integrations.mail.models import (
    Attachment,
    LinkSource,
    Mailbox,
    MailboxThread,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ThreadLink,
)
from integrations.mail.threads import threads_recount
from tests.conftest import Tenant
from tests.factories import ContactFactory
from tests.mail.factories import mail_message

pytestmark = pytest.mark.django_db

SYNCED = (Message, MessageCopy, Participant, Attachment, MailThread, MailboxThread, ThreadLink)


def _stored(org_a: Tenant, mailbox: Mailbox) -> Message:
    with org_a.scope():
        message = mail_message(
            mailbox, sender=("bea@buyer.test", "Bea Buyer"), to=[mailbox.address]
        )
        Attachment.objects.create(message=message, filename="terms.pdf", size=120)
        ThreadLink.objects.create(
            thread=message.thread, contact=ContactFactory(), source=LinkSource.MANUAL
        )
        inbox_rows_refresh([message.thread_id])
    return message


def test_deleting_an_organization_deletes_its_mail(org_a: Tenant, mailbox: Mailbox) -> None:
    _stored(org_a, mailbox)
    with all_tenants():
        assert MailboxThread.objects.unscoped().filter(organization=org_a.organization).exists()
        org_a.organization.delete()
        for model in SYNCED:
            rows = model.objects.unscoped().filter(organization_id=org_a.organization.pk)
            assert not rows.exists(), model.__name__


def test_deleting_a_message_deletes_its_participants_and_attachments(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_a.scope():
        assert Participant.objects.filter(message=message).count() == 2
        Message.objects.filter(pk=message.pk).delete()
        assert not Participant.objects.filter(message_id=message.pk).exists()
        assert not Attachment.objects.filter(message_id=message.pk).exists()


def test_an_emptied_conversation_goes_with_its_listing_rows(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_a.scope():
        assert MailboxThread.objects.filter(thread_id=message.thread_id).exists()
        Message.objects.filter(pk=message.pk).delete()
        threads_recount([message.thread_id])
        assert not MailThread.objects.filter(pk=message.thread_id).exists()
        assert not MailboxThread.objects.filter(thread_id=message.thread_id).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row-level security exists on PostgreSQL only"
)
@pytest.mark.parametrize("model", SYNCED, ids=lambda model: model.__name__)
def test_a_synced_row_cannot_name_another_organization(
    org_a: Tenant, org_b: Tenant, model: type
) -> None:
    """The organization key is not checked per row: row-level security refuses the id."""
    table = model._meta.db_table
    with (
        org_a.scope(),
        pytest.raises(DatabaseError, match="row-level security"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f'INSERT INTO "{table}" (organization_id) VALUES (%s)', [org_b.organization.pk]
        )
