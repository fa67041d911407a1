"""How mail meets the CRM: thread links, manual address rules, the blocklist."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from crm.tenancy import TenantOwned, organization_field
from integrations.mail.models.messages import (
    MailThread,
    checked_per_statement,
    indexed_where_set,
    optional_reference,
)


class LinkSource(models.TextChoices):
    AUTOMATIC = "automatic", "Matched automatically"
    MANUAL = "manual", "Linked by hand"
    RULE = "rule", "Address rule"


class OneRecord(TenantOwned):
    """A row about exactly one contact, account or deal (see ``one_record_per_thread``)."""

    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    account = models.ForeignKey(
        "crm.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    deal = models.ForeignKey(
        "crm.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


def one_record_per_thread(*, check: str, unique: str) -> list[models.BaseConstraint]:
    """Constraints of a ``OneRecord`` with a ``thread``: exactly one record set, one row per
    thread and record. ``unique`` names the latter with ``{kind}`` (contact, account, deal)."""
    return [
        models.CheckConstraint(
            condition=(
                models.Q(contact__isnull=False, account__isnull=True, deal__isnull=True)
                | models.Q(contact__isnull=True, account__isnull=False, deal__isnull=True)
                | models.Q(contact__isnull=True, account__isnull=True, deal__isnull=False)
            ),
            name=check,
        ),
        *(
            models.UniqueConstraint(
                fields=["thread", kind],
                condition=models.Q(**{f"{kind}__isnull": False}),
                name=unique.format(kind=kind),
            )
            for kind in ("contact", "account", "deal")
        ),
    ]


class ThreadLink(OneRecord):
    """A thread shown on a contact's, account's or deal's timeline (exactly one of them)."""

    organization = organization_field(db_constraint=False)
    # A sync links hundreds of conversations a page: its references are checked per statement.
    thread = checked_per_statement(MailThread, on_delete=models.CASCADE, related_name="links")
    # Each link sets one record of the three, and only a link made by hand has an author: their
    # indexes hold the rows that set them (migration 0019), not a null entry for every other.
    contact = optional_reference("crm.Contact", on_delete=models.CASCADE, checked=True)
    account = optional_reference("crm.Account", on_delete=models.CASCADE, checked=True)
    deal = optional_reference("crm.Deal", on_delete=models.CASCADE, checked=True)
    source = models.CharField(max_length=10, choices=LinkSource.choices)
    created_by = optional_reference(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = one_record_per_thread(
            check="thread_link_one_entity", unique="unique_thread_{kind}"
        )
        indexes = indexed_where_set("threadlink", ["contact", "account", "deal", "created_by"])

    def __str__(self) -> str:
        return f"Thread {self.thread_id} link ({self.source})"


class AddressRule(TenantOwned):
    """A person said: mail with this address belongs to this record (seed 002 /email/match)."""

    address = models.CharField(max_length=254)
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    account = models.ForeignKey(
        "crm.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    deal = models.ForeignKey(
        "crm.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "address"], name="unique_address_rule")
        ]

    def __str__(self) -> str:
        return self.address


class BlocklistEntry(TenantOwned):
    """An address (``a@b.com``) or a domain (``@b.com``, subdomains included) never stored."""

    value = models.CharField(max_length=254)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["value"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "value"], name="unique_blocklist_value")
        ]

    def __str__(self) -> str:
        return self.value
