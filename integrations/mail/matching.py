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
    direction_of,
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
        return self.classify(remote) is None

    def classify(self, remote: RemoteMessage) -> str | None:
        """The message's direction, or None when it is not stored (see ``skip``)."""
        addresses = _remote_addresses(remote)
        if self.blocklist and any(self.blocklist.blocks(a) for a in addresses):
            return None
        direction = self._direction(remote, addresses)
        if self.mailbox.exclude_internal and direction == Direction.INTERNAL:
            return None
        return direction

    def direction(self, remote: RemoteMessage) -> str:
        """Internal when every participant is the organization's own; outbound when the sender
        is this mailbox or one of the organization's addresses; inbound otherwise."""
        return self._direction(remote, _remote_addresses(remote))

    def _direction(self, remote: RemoteMessage, addresses: Sequence[str]) -> str:
        sender = address_normalize(remote.sender.address) if remote.sender else ""
        return direction_of(sender, addresses, self.own, mailbox_address=self.address)


@dataclass(frozen=True)
class MatchOutcome:
    participants: int = 0  # participants matched to a contact or an account
    contacts_created: int = 0
    links: int = 0  # links the batch called for (existing ones included)


@dataclass(frozen=True)
class NewMessage:
    """What matching needs of a message just stored."""

    pk: int
    thread_id: int
    direction: str
    from_address: str
    from_name: str
    junk: bool = False  # in spam or trash, or under a bulk category, in this mailbox


# (message id, role, normalized address, display name)
ParticipantTuple = tuple[int, str, str, str]


class MatchPlan:
    """The CRM side of one batch of new messages: who each address is (contacts the policy
    creates included, so created before it returns), then the threads' links."""

    def __init__(
        self,
        *,
        mailbox: Mailbox,
        messages: Sequence[NewMessage],
        rows: Sequence[ParticipantTuple],
        own: OwnAddresses,
    ) -> None:
        self.mailbox = mailbox
        self.by_id = {m.pk: m for m in messages}
        self.rows = rows
        addresses = {address for _, _, address, _ in rows}
        self.book = AddressBook.load(addresses=addresses, own=own)
        self.created = _contacts_create(mailbox, self.by_id, rows, self.book)
        self.matches = {address: self.book.match(address) for address in addresses}

    def link(self) -> MatchOutcome:
        """Link each thread to every matched contact and account (and a matched contact's only
        open deal); queue the relink of older mail with the contacts this batch created."""
        organization_id = self.mailbox.organization_id
        pairs = {(self.by_id[m].thread_id, address) for m, _, address, _ in self.rows}
        # Only someone matched or named by a rule calls for a link.
        thread_rows = [
            ParticipantRow(thread_id, address, match.contact_id, match.account_id)
            for thread_id, address in pairs
            if (match := self.matches[address]) or address in self.book.rules
        ]
        contact_ids = {m.contact_id for m in self.matches.values() if m.contact_id}
        wanted = links_wanted(
            thread_rows, rules=self.book.rules, deals=ContactDeals.load(contact_ids)
        )
        links_create(wanted, organization_id=organization_id)
        if self.created:
            # Older mail with these people (other mailboxes, earlier batches) links to them too.
            relink_later(organization_id=organization_id, addresses=self.created)
        return MatchOutcome(
            participants=sum(1 for _, _, address, _ in self.rows if self.matches[address]),
            contacts_created=len(self.created),
            links=len(wanted),
        )


def match_messages(*, mailbox: Mailbox, messages: Sequence[Message]) -> MatchOutcome:
    """Match the participants of stored messages to the CRM, create contacts as the mailbox's
    policy says, and link each thread to every matched contact and account (and to a matched
    contact's deal when it is on exactly one open deal). The sync store plans its batches
    before writing participants (``MatchPlan``); this reads them back."""
    if not messages:
        return MatchOutcome()
    ids = [m.pk for m in messages]
    rows = list(
        Participant.objects.filter(message_id__in=ids)
        .order_by()
        .values_list("message_id", "role", "address", "name")
    )
    junk = _messages_in_junk(mailbox, ids)
    plan = MatchPlan(
        mailbox=mailbox,
        messages=[
            NewMessage(m.pk, m.thread_id, m.direction, m.from_address, m.from_name, m.pk in junk)
            for m in messages
        ],
        rows=rows,
        own=OwnAddresses.load(organization=current_organization()),
    )
    matched = [address for address, match in plan.matches.items() if match]
    # One UPDATE per batch; only a batch with thousands of distinct people takes more.
    for chunk in chunked(matched):
        participants_assign(
            Participant.objects.filter(message_id__in=ids, address__in=chunk),
            {address: plan.matches[address] for address in chunk},
        )
    return plan.link()


def _creation_candidates(
    mailbox: Mailbox,
    by_id: dict[int, NewMessage],
    rows: Sequence[ParticipantTuple],
    book: AddressBook,
) -> dict[str, str]:
    """Address → display name of the people the mailbox's policy creates contacts for:
    recipients of outbound mail (``sent``), and senders of inbound mail too
    (``sent_and_received``); never the organization's own people, role or machine addresses,
    or anyone on mail that looks automated or sits in spam, trash or a bulk category."""
    policy = mailbox.contact_creation
    if policy == ContactCreation.NONE:
        return {}
    candidates: dict[str, str] = {}
    for message_id, role, address, name in rows:
        message = by_id[message_id]
        if message.direction == Direction.OUTBOUND:
            eligible = role in RECIPIENT_ROLES
        elif message.direction == Direction.INBOUND:
            eligible = policy == ContactCreation.SENT_AND_RECEIVED and role == ParticipantRole.FROM
        else:
            eligible = False
        if not eligible or message.junk:
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


def junk_folders(mailbox: Mailbox) -> frozenset[str]:
    """The mailbox's folders/labels whose mail never creates contacts."""
    return JUNK_LABELS | frozenset(
        MailFolder.objects.filter(mailbox=mailbox, role__in=[FolderRole.SPAM, FolderRole.TRASH])
        .order_by()
        .values_list("provider_id", flat=True)
    )


def _messages_in_junk(mailbox: Mailbox, message_ids: Sequence[int]) -> set[int]:
    """Messages this mailbox holds in spam or trash, or under a Gmail bulk category."""
    junk = junk_folders(mailbox)
    copies = (
        MessageCopy.objects.filter(mailbox=mailbox, message_id__in=list(message_ids))
        .order_by()
        .values_list("message_id", "folder_ids")
    )
    return {message_id for message_id, folders in copies if junk.intersection(folders or ())}


def _contacts_create(
    mailbox: Mailbox,
    by_id: dict[int, NewMessage],
    rows: Sequence[ParticipantTuple],
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
