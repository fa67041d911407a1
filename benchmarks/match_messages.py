"""How fast CRM matching runs in the sync hot path: ``match_messages`` on a batch of new messages.

    .venv/bin/python benchmarks/match_messages.py [--messages 500] [--rounds 5]

Creates a throwaway test database (SQLite, or PostgreSQL with DATABASE_URL), an organization
with 60 accounts and 300 contacts, then per round stores a batch of messages as the pipeline
does — each in its own thread (the most links), three participants each, half outbound, a third
of the people unknown (so contacts get created) — and times ``match_messages`` on it, counting
its queries. Also times ``MessageFilter.skip`` + ``direction`` over the batch's remote messages.
Prints one JSON object; the target is the whole pipeline at 1,000 messages/s or more, so matching
should stay well under 0.5 s per 500 messages.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from crm.models import (  # noqa: E402
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    Membership,
    Organization,
    Role,
    User,
)
from crm.tenancy import tenant_context  # noqa: E402
from integrations.connections.models import Connection  # noqa: E402
from integrations.mail.matching import MessageFilter, match_messages  # noqa: E402
from integrations.mail.models import (  # noqa: E402
    ContactCreation,
    Mailbox,
    MailThread,
    Message,
    MessageCopy,
    Participant,
)
from integrations.providers.mail import RemoteAddress, RemoteMessage  # noqa: E402

ALICE = "alice@alpha.test"
START = datetime(2026, 3, 2, tzinfo=UTC)


class Rollback(Exception):
    pass


def _world() -> tuple[Organization, Mailbox]:
    organization = Organization.objects.create(
        name="Alpha", slug="alpha-bench", email_domains=["alpha.test"]
    )
    user = User.objects.create_user(ALICE, "x")
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    with tenant_context(organization):
        connection_ = Connection.objects.create(
            user=user, provider="google", account_id="alice", email=ALICE, capabilities=["email"]
        )
        mailbox = Mailbox.objects.create(
            connection=connection_,
            owner=user,
            provider="google",
            address=ALICE,
            contact_creation=ContactCreation.SENT_AND_RECEIVED,
        )
        accounts = Account.objects.bulk_create(
            [Account(name=f"Company {i}", organization=organization) for i in range(60)]
        )
        AccountDomain.objects.bulk_create(
            [
                AccountDomain(account=a, domain=f"company{i}.test", organization=organization)
                for i, a in enumerate(accounts)
            ]
        )
        contacts = Contact.objects.bulk_create(
            [
                Contact(first_name=f"P{i}", account=accounts[i % 60], organization=organization)
                for i in range(300)
            ]
        )
        ContactEmail.objects.bulk_create(
            [
                ContactEmail(
                    contact=c,
                    email=f"p{i}@company{i % 60}.test",
                    is_primary=True,
                    organization=organization,
                )
                for i, c in enumerate(contacts)
            ]
        )
    return organization, mailbox


def _person(round_: int, i: int) -> str:
    """Two in three are known contacts; the rest are new people at known or unknown firms."""
    if i % 3:
        return f"p{i % 300}@company{i % 300 % 60}.test"
    return f"new{round_}-{i}@{'company7' if i % 2 else 'newco' + str(i)}.test"


def _remotes(round_: int, count: int) -> list[RemoteMessage]:
    remotes = []
    for i in range(count):
        outbound = i % 2 == 0
        a, b = _person(round_, 2 * i), _person(round_, 2 * i + 1)
        sender = ALICE if outbound else a
        to = (a,) if outbound else (ALICE,)
        remotes.append(
            RemoteMessage(
                provider_id=f"r{round_}-{i}",
                provider_thread_id=f"t{round_}-{i}",
                rfc_message_id=f"<r{round_}-{i}@bench>",
                subject=f"Subject {i}",
                sent_at=START + timedelta(seconds=i),
                received_at=START + timedelta(seconds=i),
                sender=RemoteAddress(sender, "Ada Lovelace"),
                to=tuple(RemoteAddress(x) for x in to),
                cc=(RemoteAddress(b, "Grace Hopper"),),
                folder_ids=("SENT",) if outbound else ("INBOX",),
            )
        )
    return remotes


def _people(remote: RemoteMessage) -> list[tuple[str, RemoteAddress]]:
    sender = remote.sender or RemoteAddress("")
    return [("from", sender), *(("to", x) for x in remote.to), *(("cc", x) for x in remote.cc)]


def _store(
    organization: Organization,
    mailbox: Mailbox,
    remotes: list[RemoteMessage],
    message_filter: MessageFilter,
) -> Any:
    """What the pipeline writes before it calls match_messages (not timed)."""
    threads = MailThread.objects.bulk_create(
        [MailThread(subject=r.subject, organization=organization) for r in remotes]
    )
    messages = Message.objects.bulk_create(
        [
            Message(
                rfc_message_id=r.rfc_message_id,
                thread=t,
                subject=r.subject,
                sent_at=r.sent_at,
                from_address=_people(r)[0][1].address,
                direction=message_filter.direction(r),
                organization=organization,
            )
            for r, t in zip(remotes, threads, strict=True)
        ]
    )
    MessageCopy.objects.bulk_create(
        [
            MessageCopy(
                mailbox=mailbox,
                message=m,
                provider_message_id=r.provider_id,
                received_at=r.received_at,
                folder_ids=list(r.folder_ids),
                organization=organization,
            )
            for r, m in zip(remotes, messages, strict=True)
        ]
    )
    Participant.objects.bulk_create(
        [
            Participant(
                message=m, role=role, address=p.address, name=p.name, organization=organization
            )
            for r, m in zip(remotes, messages, strict=True)
            for role, p in _people(r)
        ]
    )
    return messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        organization, mailbox = _world()
        if connection.vendor == "postgresql":
            # Steady state: autovacuum keeps the planner statistics of a live database.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        seconds, filter_seconds, queries, created = [], [], [], []
        for round_ in range(args.rounds):
            try:
                with transaction.atomic(), tenant_context(organization):
                    remotes = _remotes(round_, args.messages)
                    started = time.perf_counter()
                    message_filter = MessageFilter(mailbox=mailbox)
                    for remote in remotes:
                        message_filter.skip(remote)
                        message_filter.direction(remote)
                    filter_seconds.append(time.perf_counter() - started)
                    messages = _store(organization, mailbox, remotes, message_filter)
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        outcome = match_messages(mailbox=mailbox, messages=messages)
                        seconds.append(time.perf_counter() - started)
                    queries.append(len(captured))
                    created.append(outcome.contacts_created)
                    links = outcome.links
                    raise Rollback
            except Rollback:
                pass
    finally:
        connection.creation.destroy_test_db(test_name, verbosity=0)
    median = statistics.median(seconds)
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "messages": args.messages,
                "participants_per_message": 3,
                "rounds": args.rounds,
                "match_seconds_median": round(median, 4),
                "match_messages_per_second": round(args.messages / median),
                "filter_seconds_median": round(statistics.median(filter_seconds), 4),
                "queries": queries,
                "contacts_created": created[0],
                "links": links,
            }
        )
    )


if __name__ == "__main__":
    main()
