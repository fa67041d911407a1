"""The blocklist: addresses (``a@b.com``) and domains (``@b.com``, subdomains included) whose
mail is never stored. Adding an entry purges what was stored before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet

from crm.models import Organization, User
from crm.tenancy import current_organization
from integrations.mail.matching_addresses import OwnAddresses, domain_is_under, domain_of
from integrations.mail.matching_resolve import chunked, threads_relink
from integrations.mail.models import Attachment, BlocklistEntry, Message, Participant
from integrations.mail.threads import threads_recount

_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


def blocklist_value_normalize(raw: str) -> str:
    """``" Bob@Acme.com "`` → ``"bob@acme.com"``; ``"acme.com"``, ``"*@acme.com"``, ``"@Acme.com"``
    → ``"@acme.com"``. Anything else is a ValidationError."""
    value = raw.strip().lower().removeprefix("*")
    if "@" not in value:
        value = f"@{value}"
    if value.startswith("@"):
        if not _DOMAIN.match(value[1:]):
            raise ValidationError(f"“{raw.strip()}” is not a domain.", code="invalid")
        return value
    try:
        validate_email(value)
    except ValidationError as exc:
        raise ValidationError(f"“{raw.strip()}” is not an e-mail address.", code="invalid") from exc
    return value


def blocklist_value_kind(value: str) -> str:
    return "domain" if value.startswith("@") else "address"


@dataclass(frozen=True)
class Blocklist:
    """The organization's entries, for checking addresses in memory."""

    addresses: frozenset[str]
    domains: frozenset[str]

    @classmethod
    def load(cls) -> Blocklist:
        values = list(BlocklistEntry.objects.values_list("value", flat=True))
        return cls.of(values)

    @classmethod
    def of(cls, values: Iterable[str]) -> Blocklist:
        values = list(values)
        return cls(
            addresses=frozenset(v for v in values if not v.startswith("@")),
            domains=frozenset(v[1:] for v in values if v.startswith("@")),
        )

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains)

    def blocks(self, address: str) -> bool:
        address = address.strip().lower()
        return address in self.addresses or (
            bool(self.domains) and domain_is_under(domain_of(address), self.domains)
        )


def participant_blocked_q(value: str) -> Q:
    """Participants whose address the entry ``value`` blocks."""
    if value.startswith("@"):
        domain = value[1:]
        return Q(address__endswith=f"@{domain}") | Q(address__endswith=f".{domain}")
    return Q(address=value)


def blocklist_entries() -> QuerySet[BlocklistEntry]:
    return BlocklistEntry.objects.select_related("created_by").order_by("value", "pk")


@dataclass(frozen=True)
class BlocklistAdded:
    entry: BlocklistEntry
    created: bool
    purged: int  # stored messages deleted because they involve the blocked address or domain


def _refuse_own(value: str, organization: Organization) -> None:
    """Blocking the organization's own domain (or a parent of it), a connected mailbox or a
    member would purge nearly everything: refused. Other addresses at the own domain (a ticket
    system's robot) may be blocked."""
    own = OwnAddresses.load(organization=organization)
    if value.startswith("@"):
        domain = frozenset([value[1:]])
        if own.is_own_domain(value[1:]) or any(domain_is_under(d, domain) for d in own.domains):
            raise ValidationError(
                f"{value} is your organization's own domain: blocking it would delete its mail.",
                code="own_domain",
            )
    elif value in own.addresses:
        raise ValidationError(
            f"{value} belongs to your organization: blocking it would delete its mail.",
            code="own_address",
        )


@transaction.atomic
def blocklist_entry_add(*, value: str, user: User | None) -> BlocklistAdded:
    """Block an address or domain (idempotent) and purge the stored mail that involves it."""
    value = blocklist_value_normalize(value)
    organization = current_organization()
    _refuse_own(value, organization)
    entry, created = BlocklistEntry.objects.get_or_create(
        value=value, defaults={"created_by": user, "organization": organization}
    )
    return BlocklistAdded(entry=entry, created=created, purged=mail_purge_blocked(value=value))


def blocklist_entry_remove(*, entry: BlocklistEntry) -> None:
    """Unblock: future mail is stored again (what was purged stays gone)."""
    entry.delete()


def mail_purge_blocked(*, value: str) -> int:
    """Delete every stored message with a participant ``value`` blocks — copies, participants
    and attachments go with it — and the threads left empty; returns how many messages."""
    blocked = Participant.objects.filter(participant_blocked_q(value)).values("message_id")
    rows = list(Message.objects.filter(pk__in=blocked).values_list("pk", "thread_id"))
    if not rows:
        return 0
    message_ids = [pk for pk, _ in rows]
    files: list[str] = []
    for chunk in chunked(message_ids):
        files += [
            name
            for name in Attachment.objects.filter(message_id__in=chunk)
            .exclude(content="")
            .values_list("content", flat=True)
            if name
        ]
        Message.objects.filter(pk__in=chunk).delete()
    remaining = threads_recount({thread_id for _, thread_id in rows})
    threads_relink(remaining, organization_id=current_organization().pk)
    if files:
        transaction.on_commit(lambda: _files_delete(files))
    return len(message_ids)


def _files_delete(names: list[str]) -> None:
    storage = Attachment._meta.get_field("content").storage
    for name in names:
        storage.delete(name)
