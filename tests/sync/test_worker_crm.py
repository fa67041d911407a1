"""CRM matching through a real Celery worker on Redis, for both providers.

Mail reaches the sandbox's Gmail / Microsoft 365 mailboxes through its control API, the worker
syncs it (and runs the relink tasks the product queues), and the CRM is driven through the API.
Results are read from the database with a deadline: the worker works in its own time.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr
from typing import Any, TypeVar

import pytest
from kombu import Connection as BrokerConnection
from rest_framework.test import APIClient

from crm.models import ContactEmail
from integrations.mail import tasks_matching
from integrations.mail.models import LinkSource, Mailbox, Message, Participant, ThreadLink
from tests.conftest import Tenant, token_client
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.sync.harness import google_mailbox, microsoft_mailbox
from tests.sync.test_worker_e2e import start_sync, wait_for
from tests.sync.worker import REDIS_URL, Worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PROVIDERS = ["google", "microsoft"]
CRM = "/api/v1/crm"
EMAIL = "/api/v1/integrations/email"
T = TypeVar("T")


@pytest.fixture
def crm_worker(worker: Worker, monkeypatch: pytest.MonkeyPatch) -> Iterator[Worker]:
    """The worker also runs the relink tasks the API's CRM writes queue in this process."""
    broker = BrokerConnection(REDIS_URL)
    task = tasks_matching.mail_relink_task

    def publish(*args: Any, **kwargs: Any) -> Any:
        return task.apply_async(args=args, kwargs=kwargs, connection=broker)

    monkeypatch.setattr(task, "delay", publish)
    try:
        yield worker
    finally:
        broker.release()


@dataclass
class Box:
    """One connected mailbox at the sandbox, and the mail delivered to it."""

    org: Tenant
    provider: str
    mailbox: Mailbox
    providers: Providers
    numbers: Iterator[int] = field(default_factory=itertools.count)

    @property
    def address(self) -> str:
        return self.mailbox.address

    def receive(self, sender: str, *, cc: Sequence[str] = (), subject: str = "Hello") -> None:
        self._deliver(sender, [formataddr(("", self.address))], cc, subject, outbound=False)

    def send(self, to: Sequence[str], *, subject: str = "Following up") -> None:
        self._deliver(formataddr(("", self.address)), to, (), subject, outbound=True)

    def _deliver(
        self, sender: str, to: Sequence[str], cc: Sequence[str], subject: str, *, outbound: bool
    ) -> None:
        n = next(self.numbers)
        headers = [
            f"From: {sender}",
            f"To: {', '.join(to)}",
            *([f"Cc: {', '.join(cc)}"] if cc else []),
            f"Subject: {subject} #{n}",
            f"Message-ID: <crm-{n}-{self.provider}@liaison.test>",
            f"Date: {format_datetime(datetime.now(UTC))}",
        ]
        raw = "\r\n".join(headers) + "\r\n\r\nHi there\r\n"
        sandbox = self.providers.sandbox
        if self.provider == "google":
            labels = ["SENT"] if outbound else ["INBOX", "UNREAD"]
            sandbox.google.deliver(self.address, raw, label_ids=labels)
        else:
            folder = "sentitems" if outbound else "inbox"
            sandbox.microsoft.deliver(self.address, raw, folder=folder)

    def sync(self) -> None:
        run = wait_for(self.org, start_sync(self.org, self.mailbox))
        assert run.status == "COMPLETED", run.error

    def set_policy(self, policy: str) -> None:
        response = token_client(self.org).patch(
            f"{EMAIL}/mailboxes/{self.mailbox.pk}", {"contact_creation": policy}, format="json"
        )
        assert response.status_code == 200, response.json()


def connect(provider: str, org: Tenant, providers: Providers, policy: str = "none") -> Box:
    """An empty mailbox of organization A (whose own domain is alpha.test), all time synced."""
    org.organization.email_domains = ["alpha.test"]
    org.organization.save(update_fields=["email_domains"])
    fields = {"sync_timeframe": "all", "contact_creation": policy}
    if provider == "google":
        mailbox = google_mailbox(org, providers.sandbox, GOOGLE_USER, **fields)
    else:
        mailbox = microsoft_mailbox(
            org, providers.sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields
        )
    return Box(org=org, provider=provider, mailbox=mailbox, providers=providers)


def eventually(org: Tenant, check: Callable[[], T], what: str, timeout: float = 60) -> T:
    """``check()``'s first truthy value, read in the organization's scope; fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        with org.scope():
            value = check()
        if value or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert value, f"{what}: not seen before the deadline (last: {value!r})"
    return value


def created(client: APIClient, path: str, body: dict[str, Any]) -> int:
    response = client.post(path, body, format="json")
    assert response.status_code in (200, 201), response.json()
    return int(response.json()["id"])


def thread_of(sender: str) -> int:
    return Message.objects.filter(from_address=sender).values_list("thread_id", flat=True).get()


def threads_with(address: str) -> set[int]:
    return set(
        Participant.objects.filter(address=address).values_list("message__thread_id", flat=True)
    )


def links(thread_id: int) -> set[tuple[str, int]]:
    rows = ThreadLink.objects.filter(thread_id=thread_id).values_list(
        "contact_id", "account_id", "deal_id"
    )
    return {("contact", c) if c else ("account", a) if a else ("deal", d) for c, a, d in rows}


def match_of(address: str) -> set[tuple[int | None, int | None]]:
    return set(Participant.objects.filter(address=address).values_list("contact_id", "account_id"))


def linked_threads(**record: int) -> set[int]:
    return set(ThreadLink.objects.filter(**record).values_list("thread_id", flat=True))


def contact_addresses() -> set[str]:
    return set(ContactEmail.objects.values_list("email", flat=True))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_synced_mail_links_to_contacts_and_accounts_but_never_by_free_or_own_domains(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)
    api = token_client(org_a)
    acme = created(api, f"{CRM}/accounts", {"name": "Acme", "domains": ["acme.test"]})
    holding = created(api, f"{CRM}/accounts", {"name": "Holding"})
    webmail = created(api, f"{CRM}/accounts", {"name": "Webmail", "domains": ["gmail.com"]})
    ourselves = created(api, f"{CRM}/accounts", {"name": "Alpha", "domains": ["alpha.test"]})
    ada = created(
        api, f"{CRM}/contacts", {"first_name": "Ada", "emails": ["ada@acme.test"], "account": acme}
    )
    hal = created(
        api,
        f"{CRM}/contacts",
        {"first_name": "Hal", "emails": ["hal@gmail.com"], "account": holding},
    )
    box.receive("Ada <ada@acme.test>", cc=["hal@gmail.com"])
    box.receive("Ben <ben@eu.acme.test>")
    box.receive("Fay <fay@gmail.com>", cc=["bob@alpha.test"])

    box.sync()

    with org_a.scope():
        assert match_of("ada@acme.test") == {(ada, acme)}
        assert match_of("hal@gmail.com") == {(hal, holding)}
        assert match_of("ben@eu.acme.test") == {(None, acme)}
        assert match_of("fay@gmail.com") == {(None, None)}
        assert match_of("bob@alpha.test") == {(None, None)}
        assert links(thread_of("ada@acme.test")) == {
            ("contact", ada),
            ("account", acme),
            ("contact", hal),
            ("account", holding),
        }
        assert links(thread_of("ben@eu.acme.test")) == {("account", acme)}
        assert links(thread_of("fay@gmail.com")) == set()
        assert not linked_threads(account_id=webmail) and not linked_threads(account_id=ourselves)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_contact_creation_follows_the_mailbox_policy_and_never_takes_junk(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)

    def exchange(phase: int) -> None:
        box.send([f"Rita Recipient <rita{phase}@client.test>", "support@vendor.test"])
        box.receive(f"Sam Sender <sam{phase}@client.test>")
        box.receive(f"noreply@vendor{phase}.test")
        box.receive(f"MAILER-DAEMON@mx.vendor{phase}.test")
        box.receive(f"Shop Weekly <weekly{phase}@newsletter.shop.test>")

    exchange(1)
    box.sync()
    with org_a.scope():
        assert contact_addresses() == set()

    box.set_policy("sent")
    exchange(2)
    box.sync()
    with org_a.scope():
        assert contact_addresses() == {"rita2@client.test"}

    box.set_policy("sent_and_received")
    exchange(3)
    box.sync()
    with org_a.scope():
        assert contact_addresses() == {"rita2@client.test", "rita3@client.test", "sam3@client.test"}
        rita = ContactEmail.objects.select_related("contact").get(email="rita3@client.test")
        assert (rita.contact.first_name, rita.contact.last_name) == ("Rita", "Recipient")
        assert linked_threads(contact_id=rita.contact_id) == threads_with("rita3@client.test")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_blocking_an_address_or_a_domain_purges_its_mail_and_keeps_it_out(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)
    api = token_client(org_a)
    box.receive("spam@pest.test")
    box.receive("x@mail.junkcorp.test")
    box.receive("keep@client.test", cc=["y@junkcorp.test"])
    box.receive("stay@client.test")
    box.sync()

    by_address = api.post(f"{EMAIL}/blocklist", {"value": "spam@pest.test"}, format="json")
    by_domain = api.post(f"{EMAIL}/blocklist", {"value": "@junkcorp.test"}, format="json")

    assert (by_address.status_code, by_address.json()["purged"]) == (201, 1)
    assert (by_domain.status_code, by_domain.json()["purged"]) == (201, 2)
    with org_a.scope():
        assert set(Message.objects.values_list("from_address", flat=True)) == {"stay@client.test"}
        assert not Participant.objects.filter(address__endswith="junkcorp.test").exists()

    box.receive("spam@pest.test")
    box.receive("z@eu.junkcorp.test")
    box.receive("new@client.test")
    box.sync()

    with org_a.scope():
        assert set(Message.objects.values_list("from_address", flat=True)) == {
            "stay@client.test",
            "new@client.test",
        }


@pytest.mark.parametrize("provider", PROVIDERS)
def test_creating_a_contact_through_the_api_links_its_past_mail_through_the_worker(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)
    box.receive("Nora <nora@newco.test>", subject="Intro")
    box.receive("Nora <nora@newco.test>", subject="Pricing")
    box.send(["nora@newco.test"], subject="Proposal")
    box.receive("other@newco.test")
    box.sync()
    with org_a.scope():
        nora_threads = threads_with("nora@newco.test")
        assert len(nora_threads) == 3 and not ThreadLink.objects.exists()

    nora = created(
        token_client(org_a),
        f"{CRM}/contacts",
        {"first_name": "Nora", "emails": ["nora@newco.test"]},
    )

    eventually(
        org_a,
        lambda: linked_threads(contact_id=nora) == nora_threads,
        "past threads linked to the new contact",
    )
    with org_a.scope():
        assert match_of("nora@newco.test") == {(nora, None)}
        assert match_of("other@newco.test") == {(None, None)}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_manual_match_links_past_threads_and_the_next_synced_message(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)
    api = token_client(org_a)
    procure = created(api, f"{CRM}/accounts", {"name": "Procure Co"})
    box.receive("buyer@procure.test", subject="RFP")
    box.receive("someone@procure.test")
    box.sync()

    response = api.post(
        f"{EMAIL}/match",
        {"emailAddress": "Buyer@Procure.test", "entityType": "account", "entityId": procure},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["linkedThreads"] == 1
    box.receive("buyer@procure.test", subject="RFP, second round")
    box.sync()
    with org_a.scope():
        buyer_threads = threads_with("buyer@procure.test")
        assert len(buyer_threads) == 2
        assert linked_threads(account_id=procure) == buyer_threads
        assert set(
            ThreadLink.objects.filter(account_id=procure).values_list("source", flat=True)
        ) == {LinkSource.RULE}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_domain_that_becomes_the_organizations_own_loses_its_account_links(
    org_a: Tenant, providers: Providers, crm_worker: Worker, provider: str
) -> None:
    box = connect(provider, org_a, providers)
    sister = created(
        token_client(org_a), f"{CRM}/accounts", {"name": "Sister", "domains": ["sister.test"]}
    )
    box.receive("pat@sister.test")
    box.sync()
    with org_a.scope():
        assert linked_threads(account_id=sister) == {thread_of("pat@sister.test")}

    org_a.organization.email_domains = ["alpha.test", "sister.test"]
    org_a.organization.save(update_fields=["email_domains"])

    eventually(org_a, lambda: not linked_threads(account_id=sister), "account links removed")
    with org_a.scope():
        assert match_of("pat@sister.test") == {(None, None)}
