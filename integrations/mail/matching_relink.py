"""Past mail follows the CRM: when addresses, domains, contacts, accounts, deals or address rules
change, the participants concerned are matched again and their threads' links recomputed."""

from __future__ import annotations

import operator
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from functools import reduce

from django.db import transaction
from django.db.models import Q

from crm.models import Account, AccountDomain, Contact, ContactEmail, Deal, DealContact, User
from crm.models.records import normalize_domain
from crm.tenancy import current_organization
from integrations.mail.matching_addresses import OwnAddresses, address_normalize, direction_of
from integrations.mail.matching_resolve import (
    AddressBook,
    chunked,
    participants_assign,
    threads_relink,
)
from integrations.mail.models import (
    AddressRule,
    LinkSource,
    MailThread,
    Message,
    Participant,
    ParticipantRole,
    ThreadLink,
)
from integrations.mail.threads import threads_recount


@dataclass
class RelinkOutcome:
    participants: int = 0  # participants whose contact or account changed
    threads: int = 0  # threads whose links were recomputed
    links_added: int = 0
    links_removed: int = 0
    directions: int = 0  # messages whose direction changed (the organization's own domains)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _domain_q(domains: Iterable[str]) -> Q:
    """Addresses at any of ``domains`` or their subdomains."""
    parts = [
        Q(address__endswith=f"@{domain}") | Q(address__endswith=f".{domain}") for domain in domains
    ]
    return reduce(operator.or_, parts, Q(pk__in=[]))


def mail_relink(
    *,
    addresses: Collection[str] = (),
    domains: Collection[str] = (),
    contact_ids: Collection[int] = (),
    account_ids: Collection[int] = (),
    deal_ids: Collection[int] = (),
    own_domains: Collection[str] = (),
) -> RelinkOutcome:
    """Match again every participant with one of ``addresses``, at one of ``domains``, at a
    domain of ``account_ids``, with an address of ``contact_ids`` (or of the contacts of
    ``deal_ids``), or pointing at one of those records; then recompute the links of their
    threads and of the threads automatically linked to those records. ``own_domains``: domains
    that became or stopped being the organization's own — matched again like ``domains``, and
    the direction of mail with someone there recomputed."""
    organization = current_organization()
    directions = messages_redirect(domains=own_domains) if own_domains else 0
    domains = [*domains, *own_domains]
    contacts = set(contact_ids)
    if deal_ids:
        contacts |= set(
            DealContact.objects.filter(deal_id__in=list(deal_ids)).values_list(
                "contact_id", flat=True
            )
        )
    wanted_addresses = {address_normalize(a) for a in addresses}
    if contacts:
        wanted_addresses |= set(
            ContactEmail.objects.filter(contact_id__in=list(contacts)).values_list(
                "email", flat=True
            )
        )
    wanted_domains = {normalize_domain(d) for d in domains if d.strip()}
    if account_ids:
        wanted_domains |= set(
            AccountDomain.objects.filter(account_id__in=list(account_ids)).values_list(
                "domain", flat=True
            )
        )
    condition = (
        Q(address__in=list(wanted_addresses))
        | Q(contact_id__in=list(contacts))
        | Q(account_id__in=list(account_ids))
        | _domain_q(wanted_domains)
    )
    rows = list(
        Participant.objects.filter(condition).values_list(
            "pk", "address", "contact_id", "account_id", "message__thread_id"
        )
    )
    own = OwnAddresses.load(organization=organization)
    book = AddressBook.load(addresses={address for _, address, *_ in rows}, own=own)
    matches = {address: book.match(address) for _, address, *_ in rows}
    changed = [
        (pk, address)
        for pk, address, contact_id, account_id, _ in rows
        if (matches[address].contact_id, matches[address].account_id) != (contact_id, account_id)
    ]
    for chunk in chunked(changed):
        participants_assign(
            Participant.objects.filter(pk__in=[pk for pk, _ in chunk]),
            {address: matches[address] for _, address in chunk},
        )
    threads = {thread_id for *_, thread_id in rows}
    stale = Q(contact_id__in=list(contacts)) | Q(account_id__in=list(account_ids))
    stale |= Q(deal_id__in=list(deal_ids))
    threads |= set(
        ThreadLink.objects.filter(stale)
        .exclude(source=LinkSource.MANUAL)
        .values_list("thread_id", flat=True)
    )
    count = threads_relink(threads, organization_id=organization.pk)
    return RelinkOutcome(
        participants=len(changed),
        threads=len(threads),
        links_added=count.added,
        links_removed=count.removed,
        directions=directions,
    )


def messages_redirect(*, domains: Collection[str]) -> int:
    """Recompute, from the organization's own addresses as they are now, the direction of every
    message with a participant at one of ``domains`` (or under one); the listing rows of their
    conversations follow. Returns how many messages changed direction."""
    wanted = {normalize_domain(d) for d in domains if d.strip()}
    if not wanted:
        return 0
    own = OwnAddresses.load(organization=current_organization())
    concerned = Participant.objects.filter(_domain_q(wanted)).values("message_id").distinct()
    people: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for message_id, role, address in Participant.objects.filter(
        message_id__in=concerned
    ).values_list("message_id", "role", "address"):
        people[message_id].append((role, address))
    moved: dict[str, list[int]] = defaultdict(list)
    threads: set[int] = set()
    for message_id, direction, thread_id in Message.objects.filter(pk__in=list(people)).values_list(
        "pk", "direction", "thread_id"
    ):
        roles = people[message_id]
        sender = next((a for role, a in roles if role == ParticipantRole.FROM), "")
        now = direction_of(sender, [a for _, a in roles], own)
        if now != direction:
            moved[now].append(message_id)
            threads.add(thread_id)
    for direction, message_ids in moved.items():
        for chunk in chunked(message_ids):
            Message.objects.filter(pk__in=chunk).update(direction=direction)
    threads_recount(threads)
    return sum(len(ids) for ids in moved.values())


# --- Manual matching: "mail with this address belongs to this record" (seed 002 /email/match) --

Entity = Contact | Account | Deal
ENTITY_FIELDS: dict[type[Entity], str] = {Contact: "contact", Account: "account", Deal: "deal"}


@dataclass(frozen=True)
class ManualMatch:
    rule: AddressRule
    linked_threads: int  # threads with the address now linked to the record


@transaction.atomic
def address_rule_set(*, address: str, entity: Entity, user: User | None) -> ManualMatch:
    """Send mail with ``address`` to ``entity`` from now on (one rule per address: a new match
    replaces the old one) and link the past threads with it (source rule)."""
    address = address_normalize(address)
    field = ENTITY_FIELDS[type(entity)]
    rules = list(AddressRule.objects.select_for_update().filter(address=address).order_by("pk"))
    rule = rules[0] if rules else AddressRule(address=address)
    if len(rules) > 1:
        AddressRule.objects.filter(pk__in=[r.pk for r in rules[1:]]).delete()
    rule.contact, rule.account, rule.deal = None, None, None
    setattr(rule, field, entity)
    rule.created_by = user
    rule.save()
    mail_relink(addresses=[address])
    linked = (
        MailThread.objects.filter(
            pk__in=ThreadLink.objects.filter(**{field: entity}).values("thread_id"),
        )
        .filter(pk__in=Participant.objects.filter(address=address).values("message__thread_id"))
        .count()
    )
    return ManualMatch(rule=rule, linked_threads=linked)
