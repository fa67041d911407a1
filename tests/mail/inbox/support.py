"""What the inbox tests share: mailboxes of either provider, mail stored through the sync store
(Gmail labels or Graph folders, as the drivers deliver them), and the rows and counters a
rebuild from scratch would give, to compare the kept ones with."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from crm.models import User
from integrations.mail.inbox_sql import inbox_rows_backfill
from integrations.mail.models import FolderCount, Mailbox, MailboxThread, MailFolder, SyncRun
from integrations.mail.sync.store import MailboxStore, PageOutcome
from integrations.providers.mail import (
    RemoteAddress,
    RemoteAttachment,
    RemoteFlags,
    RemoteMessage,
)
from tests.mail.factories import ConnectionFactory, MailboxFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROVIDERS = ["google", "microsoft"]
# Where a message sits, as each provider says it: Gmail labels, Graph folder ids.
PLACES = {
    "google": {"inbox": ("INBOX",), "sent": ("SENT",), "archive": ("Label_7",)},
    "microsoft": {"inbox": ("f-inbox",), "sent": ("f-sent",), "archive": ("f-archive",)},
}


def mailbox_of(user: User, provider: str, address: str, **fields: Any) -> Mailbox:
    """A mailbox of ``user`` (call inside the tenant's scope); Graph's folders are known."""
    connection_ = ConnectionFactory(user=user, provider=provider, email=address)
    mailbox = MailboxFactory(connection=connection_, **fields)
    if provider == "microsoft":
        for role in ("inbox", "sent", "archive"):
            MailFolder.objects.create(
                mailbox=mailbox, provider_id=f"f-{role}", name=role, role=role
            )
    return mailbox


@dataclass
class Mail:
    """One message as a mailbox would deliver it; ``at`` is minutes after T0."""

    pid: str
    sender: str
    to: Sequence[str] = ()
    subject: str = "Proposal"
    at: int = 0
    place: str = "inbox"
    read: bool = False
    starred: bool = False
    thread: str = ""
    rfc: str = ""
    text: str = "Thanks for the call today."
    attachment: bool = False

    def remote(self, provider: str) -> RemoteMessage:
        sent = T0 + timedelta(minutes=self.at)
        return RemoteMessage(
            provider_id=self.pid,
            provider_thread_id=self.thread or f"t-{self.pid}",
            rfc_message_id=self.rfc or f"<{self.pid}@mail.test>",
            subject=self.subject,
            sent_at=sent,
            received_at=sent,
            sender=RemoteAddress(self.sender),
            to=tuple(RemoteAddress(a) for a in self.to),
            text_body=self.text,
            snippet=self.text[:100],
            folder_ids=PLACES[provider][self.place],
            is_read=self.read,
            is_starred=self.starred,
            attachments=(
                (RemoteAttachment("quote.pdf", "application/pdf", 1200, "att-1"),)
                if self.attachment
                else ()
            ),
        )


def store(
    mailbox: Mailbox, *mail: Mail, removed: Sequence[str] = (), recount_later: bool = False
) -> PageOutcome:
    """One page through the sync store (inside the tenant's scope); with ``recount_later`` its
    conversations are only queued for the recount, as a sync run's are (PostgreSQL)."""
    run = SyncRun(mailbox=mailbox, trigger="manual", timeframe="all")
    page = MailboxStore(mailbox, run, recount_later=recount_later)
    return page.apply(messages=[m.remote(mailbox.provider) for m in mail], removed=removed)


def change(mailbox: Mailbox, pid: str, *, place: str, read: bool, starred: bool) -> None:
    """The provider says a stored message moved or changed flags (a sync's flag change)."""
    run = SyncRun(mailbox=mailbox, trigger="manual", timeframe="all")
    flags = RemoteFlags(pid, PLACES[mailbox.provider][place], is_read=read, is_starred=starred)
    MailboxStore(mailbox, run).apply(messages=[], flags=[flags])


ROW_FIELDS = [
    "scope", "thread_id", "last_message_at", "latest_message_id", "message_count",
    "unread_count", "in_inbox", "in_sent", "in_archive", "starred", "has_attachments",
    "inbound", "outbound", "inbox_messages", "inbox_unread", "sent_messages", "sent_unread",
    "archive_messages", "archive_unread", "starred_messages", "starred_unread",
]  # fmt: skip


def kept_state() -> tuple[list[tuple[Any, ...]], dict[tuple[int, str], tuple[int, ...]]]:
    """The rows and the counters (summed over slots) as they are."""
    rows = sorted(
        MailboxThread.objects.values_list(*ROW_FIELDS),
        key=lambda r: (r[0], r[1]),
    )
    counts: dict[tuple[int, str], list[int]] = {}
    for scope, folder, *numbers in FolderCount.objects.values_list(
        "scope", "folder", "threads", "unread_threads", "messages", "unread_messages"
    ):
        total = counts.setdefault((scope, folder), [0, 0, 0, 0])
        for i, n in enumerate(numbers):
            total[i] += n
    return rows, {k: tuple(v) for k, v in counts.items() if any(v)}


def rebuilt_state(organization_id: int) -> tuple[list[tuple[Any, ...]], dict[Any, Any]]:
    """What a rebuild from the copies gives (the kept state is put back afterwards)."""
    rows = list(MailboxThread.objects.all())
    counts = list(FolderCount.objects.all())
    MailboxThread.objects.all().delete()
    FolderCount.objects.all().delete()
    with connection.cursor() as cursor:
        inbox_rows_backfill(cursor, organization_id=organization_id)
    state = kept_state()
    MailboxThread.objects.all().delete()
    FolderCount.objects.all().delete()
    MailboxThread.objects.bulk_create(rows)
    FolderCount.objects.bulk_create(counts)
    return state


@dataclass
class World:
    """Organization A's mail: Alice's and Bob's mailboxes and the shared sales mailbox (Bob's),
    with Dana of Customer Inc. as a contact.

    - "Pricing" (Alice): Dana writes (unread, attachment), Alice answers; in the inbox.
    - "Newsletter" (Alice): read and archived, from an unknown sender.
    - "Renewal" (Bob): from Dana, read, starred, in the inbox.
    - "Escalation": one message from Dana to both sales@ and Alice, unread in the shared mailbox
      and read in Alice's: one conversation held by two mailboxes.
    """

    alice: Mailbox
    bob: Mailbox
    sales: Mailbox
    dana: Any  # Contact
    customer: Any  # Account


def build_world(org: Any, provider: str = "google") -> World:
    from tests.factories import (
        AccountDomainFactory,
        AccountFactory,
        ContactEmailFactory,
        ContactFactory,
    )

    org.organization.email_domains = ["alpha.test"]
    org.organization.save(update_fields=["email_domains"])
    with org.scope():
        customer = AccountFactory(name="Customer Inc")
        AccountDomainFactory(account=customer, domain="customer.test")
        dana = ContactFactory(first_name="Dana", last_name="Scully", account=customer)
        ContactEmailFactory(contact=dana, email="dana@customer.test")
        world = World(
            alice=mailbox_of(org.owner, provider, "alice@alpha.test"),
            bob=mailbox_of(org.member, provider, "bob@alpha.test"),
            sales=mailbox_of(org.member, provider, "sales@alpha.test", kind="shared"),
            dana=dana,
            customer=customer,
        )
        dana_address = "dana@customer.test"
        store(
            world.alice,
            Mail("p1", dana_address, ["alice@alpha.test"], subject="Pricing", at=10,
                 thread="pricing", text="Please find the price list attached", attachment=True),
            Mail("p2", "alice@alpha.test", [dana_address], subject="Re: Pricing", at=20,
                 thread="pricing", place="sent", read=True, text="Thanks, reviewing it now"),
            Mail("n1", "news@letters.test", ["alice@alpha.test"], subject="Newsletter", at=5,
                 place="archive", read=True, text="Monthly digest"),
            Mail("e2", dana_address, ["sales@alpha.test", "alice@alpha.test"], at=40,
                 subject="Escalation", rfc="<esc@customer.test>", read=True,
                 text="The outage is back"),
        )  # fmt: skip
        store(
            world.bob,
            Mail("r1", dana_address, ["bob@alpha.test"], subject="Renewal", at=30, read=True,
                 starred=True, text="Time to renew the licence"),
        )  # fmt: skip
        store(
            world.sales,
            Mail("e1", dana_address, ["sales@alpha.test", "alice@alpha.test"], at=40,
                 subject="Escalation", rfc="<esc@customer.test>", text="The outage is back"),
        )  # fmt: skip
    return world
