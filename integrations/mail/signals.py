"""When a contact's addresses, an account's domains, a contact's account or a deal's contacts
change, past mail is relinked after the commit (see ``tasks_matching``).

Services write some of these rows with ``bulk_create``, which sends no signal: the save of the
contact, account or deal that always comes with it is what queues the relink, and the task reads
the rows as committed.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from crm.models import Account, AccountDomain, Contact, ContactEmail, Deal, DealContact
from integrations.mail.tasks_matching import relink_later


@receiver(post_save, sender=ContactEmail, dispatch_uid="mail-relink-contact-email-saved")
@receiver(post_delete, sender=ContactEmail, dispatch_uid="mail-relink-contact-email-deleted")
def _contact_email_changed(
    sender: Any, instance: ContactEmail, raw: bool = False, **kw: Any
) -> None:
    if not raw:
        relink_later(
            organization_id=instance.organization_id,
            addresses=[instance.email],
            contact_ids=[instance.contact_id],
        )


@receiver(post_save, sender=Contact, dispatch_uid="mail-relink-contact-saved")
def _contact_saved(sender: Any, instance: Contact, raw: bool = False, **kw: Any) -> None:
    if not raw:
        relink_later(organization_id=instance.organization_id, contact_ids=[instance.pk])


@receiver(post_save, sender=AccountDomain, dispatch_uid="mail-relink-account-domain-saved")
@receiver(post_delete, sender=AccountDomain, dispatch_uid="mail-relink-account-domain-deleted")
def _account_domain_changed(
    sender: Any, instance: AccountDomain, raw: bool = False, **kw: Any
) -> None:
    if not raw:
        relink_later(
            organization_id=instance.organization_id,
            domains=[instance.domain],
            account_ids=[instance.account_id],
        )


@receiver(post_save, sender=Account, dispatch_uid="mail-relink-account-saved")
def _account_saved(sender: Any, instance: Account, raw: bool = False, **kw: Any) -> None:
    if not raw:
        relink_later(organization_id=instance.organization_id, account_ids=[instance.pk])


@receiver(post_save, sender=DealContact, dispatch_uid="mail-relink-deal-contact-saved")
@receiver(post_delete, sender=DealContact, dispatch_uid="mail-relink-deal-contact-deleted")
def _deal_contact_changed(sender: Any, instance: DealContact, raw: bool = False, **kw: Any) -> None:
    if not raw:
        relink_later(
            organization_id=instance.organization_id,
            contact_ids=[instance.contact_id],
            deal_ids=[instance.deal_id],
        )


@receiver(post_save, sender=Deal, dispatch_uid="mail-relink-deal-saved")
def _deal_saved(sender: Any, instance: Deal, raw: bool = False, **kw: Any) -> None:
    if not raw:
        relink_later(organization_id=instance.organization_id, deal_ids=[instance.pk])
