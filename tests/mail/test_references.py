"""The references the sync writes by the thousand are checked once per statement by triggers
(migration 0018) instead of per row by foreign keys, with the same guarantee: no row names a
conversation, message, mailbox, contact or account that does not exist, none of those goes
while something still names it, and a row a writer names cannot be deleted under it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crm.models import Contact
from crm.tenancy import ORGANIZATION_SETTING
from integrations.mail.models import (
    Attachment,
    LinkSource,
    Mailbox,
    Message,
    MessageCopy,
    Participant,
    ThreadLink,
)
from tests.conftest import Tenant
from tests.factories import AccountFactory, ContactFactory, DealFactory
from tests.mail.factories import mail_message

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the reference triggers exist on PostgreSQL only"
)

MISSING = 987_654_321


@contextmanager
def _refused(match: str) -> Iterator[None]:
    """The statements inside fail on a reference, and their transaction rolls back."""
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        yield


def _raw(sql: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _stored(org_a: Tenant, mailbox: Mailbox) -> Message:
    with org_a.scope():
        return mail_message(mailbox, sender=("bea@buyer.test", "Bea Buyer"), to=[mailbox.address])


@pytest.mark.django_db
def test_a_message_cannot_name_a_conversation_that_does_not_exist(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_a.scope():
        with _refused('reference to "mail_mailthread"'):
            _raw("UPDATE mail_message SET thread_id = %s WHERE id = %s", [MISSING, message.pk])
        assert Message.objects.get(pk=message.pk).thread_id == message.thread_id


@pytest.mark.django_db
def test_copies_and_attachments_cannot_name_a_missing_message_or_mailbox(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_a.scope():
        with _refused('reference to "mail_message"'):
            MessageCopy.objects.create(
                mailbox=mailbox,
                message_id=MISSING,
                provider_message_id="gone",
                received_at=timezone.now(),
            )
        with _refused('reference to "mail_mailbox"'):
            MessageCopy.objects.create(
                mailbox_id=MISSING,
                message=message,
                provider_message_id="elsewhere",
                received_at=timezone.now(),
            )
        with _refused('reference to "mail_message"'):
            Attachment.objects.create(message_id=MISSING, filename="terms.pdf")
        assert MessageCopy.objects.count() == 1
        assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_a_participant_matches_only_a_contact_or_account_of_its_organization(
    org_a: Tenant, org_b: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_b.scope():
        theirs = ContactFactory()
    with org_a.scope():
        participant = Participant.objects.filter(message=message).first()
        assert participant is not None
        for contact_id in (MISSING, theirs.pk):
            with _refused('reference to "crm_contact"'):
                Participant.objects.filter(pk=participant.pk).update(contact_id=contact_id)
        with _refused('reference to "crm_account"'):
            Participant.objects.filter(pk=participant.pk).update(account_id=MISSING)
        ours, account = ContactFactory(), AccountFactory()
        Participant.objects.filter(pk=participant.pk).update(contact=ours, account=account)
        participant.refresh_from_db()
        assert (participant.contact_id, participant.account_id) == (ours.pk, account.pk)


@pytest.mark.django_db
def test_a_conversation_links_only_to_records_that_exist(
    org_a: Tenant, org_b: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_b.scope():
        their_deal = DealFactory()
    with org_a.scope():
        contact, thread_id = ContactFactory(), message.thread_id
        for fields, referenced in (
            ({"thread_id": thread_id, "deal_id": their_deal.pk}, "crm_deal"),
            ({"thread_id": thread_id, "account_id": MISSING}, "crm_account"),
            ({"thread_id": MISSING, "contact_id": contact.pk}, "mail_mailthread"),
        ):
            with _refused(f'reference to "{referenced}"'):
                ThreadLink.objects.create(**fields, source=LinkSource.MANUAL)
        assert not ThreadLink.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("table", "referenced_from"),
    [
        ("mail_mailthread", "mail_message"),
        ("mail_message", "mail_messagecopy"),
        ("mail_mailbox", "mail_messagecopy"),
    ],
)
def test_what_mail_still_names_cannot_be_deleted_behind_the_models(
    org_a: Tenant, mailbox: Mailbox, table: str, referenced_from: str
) -> None:
    message = _stored(org_a, mailbox)
    ids = {"mail_mailthread": message.thread_id, "mail_message": message.pk}
    with org_a.scope():
        with _refused(f'reference from "{referenced_from}"'):
            _raw(f"DELETE FROM {table} WHERE id = %s", [ids.get(table, mailbox.pk)])
        assert Message.objects.filter(pk=message.pk).exists()


@pytest.mark.django_db
def test_deleting_a_matched_contact_unmatches_its_participants(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    message = _stored(org_a, mailbox)
    with org_a.scope():
        contact = ContactFactory()
        Participant.objects.filter(message=message).update(contact=contact)
        with _refused('reference from "mail_participant"'):
            _raw("DELETE FROM crm_contact WHERE id = %s", [contact.pk])
        contact.delete()
        assert not Participant.objects.filter(contact_id__isnull=False).exists()
        assert Participant.objects.filter(message=message).count() == 2


@contextmanager
def _second_session(org: Tenant) -> Iterator[psycopg.Connection]:
    """Another database session of the same organization, outside Django's."""
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        autocommit=True,
    ) as other:
        other.execute(
            "SELECT set_config(%s, %s, false)", [ORGANIZATION_SETTING, str(org.organization.pk)]
        )
        yield other


@pytest.mark.django_db(transaction=True)
def test_a_contact_a_writer_names_cannot_be_deleted_until_it_commits(
    org_a: Tenant, mailbox: Mailbox
) -> None:
    """As with a foreign key: the writer's row lock makes a concurrent delete wait, and once the
    writer has committed the delete finds the contact still named."""
    message = _stored(org_a, mailbox)
    with org_a.scope():
        contact = ContactFactory()
    with _second_session(org_a) as other:
        with org_a.scope(), transaction.atomic():
            Participant.objects.filter(message=message).update(contact=contact)
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM crm_contact WHERE id = %s", [contact.pk])
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            other.execute("DELETE FROM crm_contact WHERE id = %s", [contact.pk])
    with org_a.scope():
        assert Contact.objects.filter(pk=contact.pk).exists()
