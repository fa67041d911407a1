"""What the Inbox page tests share: organization A's mail, stored through the sync store as a
Gmail or Microsoft 365 mailbox delivers it (so rows, counters and CRM matches are as in
production), and signed-in clients that speak htmx."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from crm.models import Account, Contact, Deal, Task, User
from integrations.mail import web_inbox_urls
from integrations.mail.models import Mailbox, MailThread, Message
from tests.conftest import Tenant
from tests.factories import (
    AccountDomainFactory,
    AccountFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TaskFactory,
)
from tests.mail.inbox.support import Mail, mailbox_of, store

ALICE = "alice@alpha.test"
ADA = "ada@acme.test"
QUOTE = "Quote for 2027"
QUOTE_TEXT = "Our quote for the launch is attached"
DIGEST = "Weekly rocket digest"
OLD = "Old order confirmation"
# The routes about one conversation (/inbox/thread/<pk>/…).
THREAD_ROUTES = sorted(
    str(p.name) for p in web_inbox_urls.urlpatterns if "<int:pk>" in str(p.pattern)
)


def htmx(target: str) -> dict[str, str]:
    """The headers htmx sends for a request aimed at element ``target``."""
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": target}


@dataclass
class InboxMail:
    mailbox: Mailbox
    contact: Contact
    account: Account
    deal: Deal
    task: Task
    quote: MailThread  # Ada's quote (unread, an attachment) and Alice's answer (sent)
    digest: MailThread  # a newsletter, read
    old: MailThread  # archived, read

    def messages(self, thread: MailThread) -> list[Message]:
        return list(Message.objects.filter(thread=thread).order_by("sent_at", "pk"))


def inbox_mail(org: Tenant, provider: str = "google", **mailbox_fields: str) -> InboxMail:
    """Alice's mailbox with three conversations; Ada Lovelace (Acme Rockets) is a contact."""
    org.organization.email_domains = ["alpha.test"]
    org.organization.save(update_fields=["email_domains"])
    with org.scope():
        acme = AccountFactory(name="Acme Rockets", owner=org.owner)
        AccountDomainFactory(account=acme, domain="acme.test")
        ada = ContactFactory(first_name="Ada", last_name="Lovelace", account=acme)
        ContactEmailFactory(contact=ada, email=ADA)
        deal = DealFactory(name="Acme launch deal", account=acme)
        task = TaskFactory(title="Send the signed quote", contact=ada)
        mailbox = mailbox_of(org.owner, provider, ALICE, **mailbox_fields)
        store(
            mailbox,
            Mail("q1", ADA, [ALICE], subject=QUOTE, at=10, thread="quote", text=QUOTE_TEXT,
                 attachment=True),
            Mail("q2", ALICE, [ADA], subject=f"Re: {QUOTE}", at=20, thread="quote",
                 place="sent", read=True, text="Thanks, we will review it"),
            Mail("d1", "news@rockets.test", [ALICE], subject=DIGEST, at=15, read=True,
                 text="This week in rockets"),
            Mail("o1", ADA, [ALICE], subject=OLD, at=1, place="archive", read=True,
                 text="Your order shipped"),
        )  # fmt: skip
        threads = {t.subject: t for t in MailThread.objects.all()}
    return InboxMail(
        mailbox=mailbox,
        contact=ada,
        account=acme,
        deal=deal,
        task=task,
        quote=threads[QUOTE],
        digest=threads[DIGEST],
        old=threads[OLD],
    )


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def marked_thread(org: Tenant, marker: str) -> MailThread:
    """One conversation of ``org`` whose subject, body and addresses carry ``marker``."""
    with org.scope():
        mailbox = mailbox_of(org.owner, "google", f"{marker}-box@alpha.test")
        store(
            mailbox,
            Mail(
                f"{marker}-1",
                f"{marker}@sender.test",
                [mailbox.address],
                subject=f"{marker} subject",
                text=f"{marker} body",
            ),
        )
        return MailThread.objects.get(subject=f"{marker} subject")
