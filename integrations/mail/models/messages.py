"""Threads, messages (one per RFC Message-ID per organization), per-mailbox copies, participants
and attachments.

The references a sync writes by the thousand (``checked_per_statement``) have no foreign-key
constraint: on PostgreSQL, triggers check them once per statement (migration 0018), with a
foreign key's guarantee and row locks, instead of one query per row at every commit.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from crm.tenancy import TenantOwned, organization_field
from integrations.mail.models.mailboxes import Mailbox, SharedInbox


def checked_per_statement(to: Any, **options: Any) -> models.ForeignKey[Any, Any]:
    """A reference checked per statement by migration 0018's triggers, not per row by a
    foreign key; deleting what it refers to still cascades or nulls it (Django's collector)."""
    return models.ForeignKey(to, db_constraint=False, **options)


def optional_reference(
    to: Any, *, on_delete: Any, related_name: str = "+", checked: bool = False
) -> models.ForeignKey[Any, Any]:
    """A reference most rows leave unset: its index, ``indexed_where_set`` in the model's
    Meta, holds only the rows that set it. ``checked``: by statement (``checked_per_statement``),
    not by a foreign key."""
    options: dict[str, Any] = {
        "on_delete": on_delete,
        "null": True,
        "blank": True,
        "related_name": related_name,
        "db_index": False,
    }
    return checked_per_statement(to, **options) if checked else models.ForeignKey(to, **options)


def indexed_where_set(prefix: str, names: list[str]) -> list[models.Index]:
    """Indexes of nullable references over the rows that set them: every lookup asks for a
    given record, and a row that sets none costs no index entry."""
    return [
        models.Index(
            fields=[name],
            condition=models.Q(**{f"{name}__isnull": False}),
            name=f"{prefix}_{name}_idx",
        )
        for name in names
    ]


class MailThread(TenantOwned):
    """A conversation, across every mailbox of the organization that holds part of it."""

    organization = organization_field(db_constraint=False)
    subject = models.CharField(max_length=998, blank=True)
    first_message_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    message_count = models.PositiveIntegerField(default=0)
    # The team inbox the conversation was routed to (its first mailbox's when null), and who
    # of the team works it; indexed where set (migration 0019): most conversations are in no
    # team inbox and assigned to nobody.
    shared_inbox = optional_reference(
        SharedInbox, on_delete=models.SET_NULL, related_name="threads"
    )
    assigned_to = optional_reference(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL)
    assigned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = indexed_where_set("thread", ["shared_inbox", "assigned_to"])

    def __str__(self) -> str:
        return self.subject or f"Thread {self.pk}"


class Direction(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    OUTBOUND = "outbound", "Outbound"
    INTERNAL = "internal", "Internal"


class Message(TenantOwned):
    """One e-mail, stored once per organization however many mailboxes hold a copy."""

    # unique_message_per_organization leads with the organization.
    organization = organization_field(db_index=False, db_constraint=False)
    rfc_message_id = models.CharField(max_length=998)
    thread = checked_per_statement(MailThread, on_delete=models.CASCADE, related_name="messages")
    subject = models.TextField(blank=True)
    sent_at = models.DateTimeField(db_index=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=255, blank=True)
    snippet = models.CharField(max_length=300, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    body_fetched = models.BooleanField(default=True)
    size = models.PositiveIntegerField(default=0)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    has_attachments = models.BooleanField(default=False)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "rfc_message_id"], name="unique_message_per_organization"
            )
        ]

    def __str__(self) -> str:
        return self.subject[:80] or self.rfc_message_id


class MessageCopy(TenantOwned):
    """A message as one mailbox holds it: provider ids, folders/labels and flags."""

    organization = organization_field(db_constraint=False)
    # unique_copy_per_mailbox and the indexes below lead with the mailbox.
    mailbox = checked_per_statement(
        Mailbox, on_delete=models.CASCADE, related_name="copies", db_index=False
    )
    message = checked_per_statement(Message, on_delete=models.CASCADE, related_name="copies")
    provider_message_id = models.CharField(max_length=512)
    provider_thread_id = models.CharField(max_length=512, blank=True)
    folder_ids = models.JSONField(default=list, blank=True)
    is_read = models.BooleanField(default=False)
    is_starred = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)
    in_inbox = models.BooleanField(default=False)
    in_sent = models.BooleanField(default=False)
    received_at = models.DateTimeField(db_index=True)
    # Local flag changes waiting to be written to the provider; a sync never overwrites them.
    pending_flags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "provider_message_id"], name="unique_copy_per_mailbox"
            )
        ]
        indexes = [
            models.Index(fields=["mailbox", "-received_at"], name="copy_mailbox_recent_idx"),
            # New messages find their thread through the provider's thread id.
            models.Index(fields=["mailbox", "provider_thread_id"], name="copy_provider_thread_idx"),
            # The few copies with flag changes still to write through to the provider.
            models.Index(
                fields=["mailbox"],
                condition=~models.Q(pending_flags={}),
                name="copy_pending_flags_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.provider_message_id}"


class ParticipantRole(models.TextChoices):
    FROM = "from", "From"
    TO = "to", "To"
    CC = "cc", "Cc"
    BCC = "bcc", "Bcc"
    REPLY_TO = "reply_to", "Reply-To"


class Participant(TenantOwned):
    # Looked up by address within the organization only: participant_address_idx serves both
    # (several rows a message, so each index less is felt by the sync).
    organization = organization_field(db_index=False, db_constraint=False)
    # Participants are only written in the transaction that inserts their message (no other
    # can delete it before that commits), so a check per row at commit could never fail: the
    # database makes none. Deleting a message deletes them (Django's collector cascades).
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="participants", db_constraint=False
    )
    role = models.CharField(max_length=10, choices=ParticipantRole.choices)
    address = models.CharField(max_length=254)
    name = models.CharField(max_length=255, blank=True)
    # Most participants match nobody: their contact and account are indexed only where set
    # (every lookup asks for one contact or account), so an unmatched row adds no index entries.
    contact = optional_reference("crm.Contact", on_delete=models.SET_NULL, checked=True)
    account = optional_reference("crm.Account", on_delete=models.SET_NULL, checked=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["message", "position"]
        indexes = [
            models.Index(fields=["organization", "address"], name="participant_address_idx"),
            *indexed_where_set("participant", ["contact", "account"]),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.address}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.organization_id}/{instance.message_id}/{instance.pk or 'new'}"


class Attachment(TenantOwned):
    organization = organization_field(db_constraint=False)
    message = checked_per_statement(Message, on_delete=models.CASCADE, related_name="attachments")
    copy = models.ForeignKey(
        MessageCopy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    provider_attachment_id = models.CharField(max_length=1024, blank=True)
    part_id = models.CharField(max_length=64, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)
    content = models.FileField(upload_to=_attachment_path, blank=True, max_length=500)

    class Meta:
        ordering = ["message", "id"]

    def __str__(self) -> str:
        return self.filename or f"Attachment {self.pk}"
