"""CRM matching in the sync hot path: which mail to keep, its direction, and what it links to.

The pipeline builds one ``MessageFilter`` per run and calls ``match_messages`` once per batch of
new messages. ``match_messages`` runs a fixed number of queries whatever the batch size: it reads
the batch's participants, what the CRM knows about their addresses and the deals of the matched
contacts, then writes the contacts it may create, every participant's match (one UPDATE) and
the threads' links (one INSERT … ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crm.models import Contact, ContactEmail
from crm.tenancy import current_organization
from integrations.mail.blocklist import Blocklist
from integrations.mail.matching_addresses import (
    OwnAddresses,
    address_normalize,
    is_plausible_address,
    is_role_address,
    looks_automated,
    name_split,
)
from integrations.mail.matching_resolve import (
    AddressBook,
    ContactDeals,
    Match,
    ParticipantRow,
    chunked,
    links_create,
    links_wanted,
    participants_assign,
)
from integrations.mail.models import (
    ContactCreation,
    Direction,
    FolderRole,
    Mailbox,
    MailFolder,
    Message,
    MessageCopy,
    Participant,
    ParticipantRole,
)
from integrations.mail.tasks_matching import relink_later
from integrations.providers.mail import RemoteAddress, RemoteMessage

# Gmail files bulk mail under these labels; nobody there should become a contact.
JUNK_LABELS = frozenset(
    {
        "SPAM",
        "TRASH",
        "CATEGORY_PROMOTIONS",
        "CATEGORY_SOCIAL",
        "CATEGORY_UPDATES",
        "CATEGORY_FORUMS",
    }
)
RECIPIENT_ROLES = (ParticipantRole.TO, ParticipantRole.CC, ParticipantRole.BCC)


def _remote_addresses(remote: RemoteMessage) -> list[str]:
    people: Iterable[RemoteAddress] = (
        *((remote.sender,) if remote.sender else ()),
        *remote.to,
        *remote.cc,
        *remote.bcc,
        *remote.reply_to,
    )
    return [address_normalize(p.address) for p in people if p.address]


class MessageFilter:
    """Built once per sync run (two or three queries): the blocklist and the own addresses."""

    def __init__(self, *, mailbox: Mailbox) -> None:
        self.mailbox = mailbox
        self.address = address_normalize(mailbox.address)
        self.own = OwnAddresses.load(organization=current_organization())
        self.blocklist = Blocklist.load()

    def skip(self, remote: RemoteMessage) -> bool:
        """Not stored: a participant is blocked, or the mail is internal and the mailbox
        excludes internal mail."""
        addresses = _remote_addresses(remote)
        if self.blocklist and any(self.blocklist.blocks(a) for a in addresses):
            return True
        return self.mailbox.exclude_internal and self.direction(remote) == Direction.INTERNAL

    def direction(self, remote: RemoteMessage) -> str:
        """Internal when every participant is the organization's own; outbound when the sender
        is this mailbox or one of the organization's addresses; inbound otherwise."""
        sender = address_normalize(remote.sender.address) if remote.sender else ""
        participants = [a for a in _remote_addresses(remote) if a]
        if participants and all(a == self.address or self.own.is_own(a) for a in participants):
            return Direction.INTERNAL
        if sender and (sender == self.address or self.own.is_own(sender)):
            return Direction.OUTBOUND
        return Direction.INBOUND


@dataclass(frozen=True)
class MatchOutcome:
    participants: int = 0  # participants matched to a contact or an account
    contacts_created: int = 0
    links: int = 0  # links the batch called for (existing ones included)


def match_messages(*, mailbox: Mailbox, messages: Sequence[Message]) -> MatchOutcome:
    """Match the participants of newly stored messages to the CRM, create contacts as the
    mailbox's policy says, and link each thread to every matched contact and account (and to a
    matched contact's deal when it is on exactly one open deal)."""
    if not messages:
        return MatchOutcome()
    organization = current_organization()
    by_id = {m.pk: m for m in messages}
    rows = list(
        Participant.objects.filter(message_id__in=list(by_id))
        .order_by()
        .values_list("message_id", "role", "address", "name")
    )
    addresses = {address for _, _, address, _ in rows}
    own = OwnAddresses.load(organization=organization)
    book = AddressBook.load(addresses=addresses, own=own)
    created = _contacts_create(mailbox, by_id, rows, book)
    matches = {address: book.match(address) for address in addresses}
    matched = [address for address, match in matches.items() if match]
    # One UPDATE per batch; only a batch with thousands of distinct people takes more.
    for chunk in chunked(matched):
        participants_assign(
            Participant.objects.filter(message_id__in=list(by_id), address__in=chunk),
            {address: matches[address] for address in chunk},
        )
    thread_rows = {
        ParticipantRow(
            by_id[message_id].thread_id,
            address,
            matches[address].contact_id,
            matches[address].account_id,
        )
        for message_id, _, address, _ in rows
    }
    deals = ContactDeals.load({m.contact_id for m in matches.values() if m.contact_id})
    wanted = links_wanted(thread_rows, rules=book.rules, deals=deals)
    links_create(wanted, organization_id=organization.pk)
    if created:
        # Older mail with these people (other mailboxes, earlier batches) links to them too.
        relink_later(organization_id=organization.pk, addresses=created)
    return MatchOutcome(
        participants=sum(1 for _, _, address, _ in rows if matches[address]),
        contacts_created=len(created),
        links=len(wanted),
    )


def _creation_candidates(
    mailbox: Mailbox,
    by_id: dict[int, Message],
    rows: Sequence[tuple[int, str, str, str]],
    book: AddressBook,
) -> dict[str, str]:
    """Address → display name of the people the mailbox's policy creates contacts for:
    recipients of outbound mail (``sent``), and senders of inbound mail too
    (``sent_and_received``); never the organization's own people, role or machine addresses,
    or anyone on mail that looks automated or sits in spam, trash or a bulk category."""
    policy = mailbox.contact_creation
    if policy == ContactCreation.NONE:
        return {}
    junk = _messages_in_junk(mailbox, by_id)
    candidates: dict[str, str] = {}
    for message_id, role, address, name in rows:
        message = by_id[message_id]
        if message.direction == Direction.OUTBOUND:
            eligible = role in RECIPIENT_ROLES
        elif message.direction == Direction.INBOUND:
            eligible = policy == ContactCreation.SENT_AND_RECEIVED and role == ParticipantRole.FROM
        else:
            eligible = False
        if not eligible or message_id in junk:
            continue
        if looks_automated(message.from_address, message.from_name):
            continue
        if address in candidates:
            candidates[address] = candidates[address] or name
        elif not (
            book.knows(address)
            or book.own.is_own(address)
            or is_role_address(address)
            or not is_plausible_address(address)
        ):
            candidates[address] = name
    return candidates


def _messages_in_junk(mailbox: Mailbox, by_id: dict[int, Message]) -> set[int]:
    """Messages this mailbox holds in spam or trash, or under a Gmail bulk category."""
    junk_folders = set(JUNK_LABELS) | set(
        MailFolder.objects.filter(mailbox=mailbox, role__in=[FolderRole.SPAM, FolderRole.TRASH])
        .order_by()
        .values_list("provider_id", flat=True)
    )
    copies = (
        MessageCopy.objects.filter(mailbox=mailbox, message_id__in=list(by_id))
        .order_by()
        .values_list("message_id", "folder_ids")
    )
    return {
        message_id for message_id, folders in copies if junk_folders.intersection(folders or ())
    }


def _contacts_create(
    mailbox: Mailbox,
    by_id: dict[int, Message],
    rows: Sequence[tuple[int, str, str, str]],
    book: AddressBook,
) -> list[str]:
    """Create the policy's contacts (named from the display name, on the account of their
    domain, never a new account); adds them to ``book`` and returns their addresses."""
    candidates = _creation_candidates(mailbox, by_id, rows, book)
    if not candidates:
        return []
    organization_id = mailbox.organization_id
    contacts: dict[str, Contact] = {}
    for address, name in candidates.items():
        first, last = name_split(name, address)
        contacts[address] = Contact(
            organization_id=organization_id,
            first_name=first,
            last_name=last,
            account_id=book.domain_account(address),
            owner_id=mailbox.owner_id,
        )
    Contact.objects.bulk_create(list(contacts.values()))
    ContactEmail.objects.bulk_create(
        [
            ContactEmail(
                organization_id=organization_id, contact=contact, email=address, is_primary=True
            )
            for address, contact in contacts.items()
        ],
        ignore_conflicts=True,
    )
    # Another mailbox's sync may have created the same person a moment ago: theirs wins.
    owners = {
        email: (contact_id, account_id)
        for email, contact_id, account_id in ContactEmail.objects.filter(email__in=list(contacts))
        .order_by()
        .values_list("email", "contact_id", "contact__account_id")
    }
    lost = [c.pk for address, c in contacts.items() if owners.get(address, (None,))[0] != c.pk]
    if lost:
        Contact.objects.filter(pk__in=lost).delete()
    for address, (contact_id, account_id) in owners.items():
        book.add_contact(address, contact_id, account_id)
    return [address for address, c in contacts.items() if owners.get(address, (None,))[0] == c.pk]


__all__ = ["Match", "MatchOutcome", "MessageFilter", "match_messages"]
