"""Inbox API latency on a large organization: 1,000,000 messages in 250,000 conversations over
50 mailboxes and 20,000 contacts, generated with set-based SQL, then each endpoint called
in-process through Django's test client (server time: routing, authentication, tenancy, the
selectors and serialization; no network).

    DATABASE_URL=postgres://liaison:liaison@127.0.0.1:5432/liaison_bench \\
        .venv/bin/python benchmarks/inbox_api.py [--messages 1000000] [--keep]

Prints one JSON object: ``<endpoint>_p50_ms`` / ``_p95_ms`` for page 1, page 500, a search, the
folder counts, a 20-message thread and a contact's threads (the last two when their routes
exist), and ``queries`` per endpoint, with the query count of a page of 10 and of 100 rows.
Targets (p95): page 1 ≤ 25 ms, page 500 ≤ 50 ms, search ≤ 150 ms, counts ≤ 20 ms. The data is
kept with ``--keep`` and reused by the next run of the same size; otherwise it is deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import NoReverseMatch, reverse  # noqa: E402

from crm import services  # noqa: E402
from crm.models import Contact, Membership, Organization, Role, User  # noqa: E402
from crm.tenancy import all_tenants, tenant_context  # noqa: E402
from integrations.connections.models import Connection  # noqa: E402
from integrations.mail.inbox_sql import inbox_rows_backfill  # noqa: E402
from integrations.mail.models import Mailbox, MailThread  # noqa: E402
from integrations.mail.search_index import search_index_now  # noqa: E402

SLUG = "inbox-bench"
DOMAIN = "bench-sales.test"
MAILBOXES = 50
CONTACTS = 20_000
ACCOUNTS = 2_000
CHUNK = 100_000
WORDS = [
    "proposal", "pricing", "contract", "renewal", "meeting", "quarterly", "review", "invoice",
    "shipment", "delivery", "discount", "budget", "forecast", "pipeline", "demo", "onboarding",
    "training", "support", "ticket", "escalation", "security", "audit", "compliance",
    "integration", "migration", "roadmap", "feature", "request", "feedback", "survey",
    "webinar", "conference", "travel", "schedule", "agenda", "minutes", "summary", "followup",
    "reminder", "deadline", "approval", "signature", "legal", "procurement", "vendor",
    "partner", "referral", "upgrade", "license", "seats", "usage", "report", "dashboard",
    "analytics", "export", "import", "backup", "outage",
]  # fmt: skip
FIRST = ["anna", "ben", "carla", "david", "elena", "frank", "greta", "hugo", "iris", "jonas"]
LAST = [f"{a}{b}" for a in ("berg", "stein", "feld", "mann", "wald") for b in WORDS[:40]]
VOCABULARY = len(WORDS)
PREFIX = "/api/v1/integrations"
ANALYZED = [
    "mail_message", "mail_messagecopy", "mail_participant", "mail_mailthread",
    "mail_mailboxthread", "mail_foldercount", "mail_search", "mail_search_pending",
    "mail_threadlink", "crm_contact", "crm_contactemail", "crm_account", "crm_accountdomain",
]  # fmt: skip


# -- data ----------------------------------------------------------------------------------------


def _sql(sql: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _reserve(table: str, count: int) -> int:
    """A block of ``count`` ids from the table's sequence; returns the first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            "nextval(pg_get_serial_sequence(%s, 'id')) + %s)",
            [table, table, count],
        )
        return int(cursor.fetchone()[0]) - count


def _people(organization: Organization) -> tuple[User, User, list[Mailbox]]:
    owner = User.objects.create_user(email=f"owner@{DOMAIN}", password=None)
    member = User.objects.create_user(email=f"rep0@{DOMAIN}", password=None)
    Membership.objects.create(user=owner, organization=organization, role=Role.OWNER)
    Membership.objects.create(user=member, organization=organization, role=Role.MEMBER)
    mailboxes = []
    for k in range(MAILBOXES):
        user = member if k == 0 else User.objects.create_user(email=f"rep{k}@{DOMAIN}")
        if k:
            Membership.objects.create(user=user, organization=organization, role=Role.MEMBER)
        connection_ = Connection.objects.create(
            user=user, provider="google", account_id=f"bench-{k}", email=user.email
        )
        mailboxes.append(
            Mailbox.objects.create(
                connection=connection_, owner=user, provider="google", address=user.email
            )
        )
    return owner, member, mailboxes


def _crm(organization: Organization) -> int:
    """Accounts with domains and contacts with addresses; returns the first contact id."""
    org = organization.pk
    account0 = _reserve("crm_account", ACCOUNTS)
    _sql(
        "INSERT INTO crm_account (id, organization_id, name, website, industry, created_at, "
        "updated_at) SELECT %s + a, %s, 'Account ' || a, '', '', now(), now() "
        "FROM generate_series(0, %s - 1) a",
        [account0, org, ACCOUNTS],
    )
    _sql(
        "INSERT INTO crm_accountdomain (organization_id, account_id, domain) "
        "SELECT %s, %s + a, 'acct' || a || '.test' FROM generate_series(0, %s - 1) a",
        [org, account0, ACCOUNTS],
    )
    contact0 = _reserve("crm_contact", CONTACTS)
    _sql(
        "INSERT INTO crm_contact (id, organization_id, first_name, last_name, title, phones, "
        "account_id, created_at, updated_at) "
        f"SELECT %s + c, %s, (%s::text[])[1 + c %% {len(FIRST)}], "
        f"(%s::text[])[1 + (c / {len(FIRST)}) %% {len(LAST)}], '', "
        "'[]', %s + c %% %s, now(), now() FROM generate_series(0, %s - 1) c",
        [contact0, org, FIRST, LAST, account0, ACCOUNTS, CONTACTS],
    )
    _sql(
        "INSERT INTO crm_contactemail (organization_id, contact_id, email, is_primary) "
        "SELECT %s, %s + c, 'c' || c || '@acct' || (c %% %s) || '.test', true "
        "FROM generate_series(0, %s - 1) c",
        [org, contact0, ACCOUNTS, CONTACTS],
    )
    return contact0


# Message i: the first 20 make conversation 0, then four per conversation.
THREAD_OF = "(CASE WHEN i < 20 THEN 0 ELSE 1 + (i - 20) / 4 END)"
POSITION_OF = "(CASE WHEN i < 20 THEN i ELSE (i - 20) %% 4 END)"


def _mail(organization: Organization, mailboxes: list[Mailbox], contact0: int, n: int) -> None:
    org, threads = organization.pk, 1 + (n - 20) // 4
    box0 = mailboxes[0].pk  # mailbox ids are consecutive: created one after the other
    assert [m.pk for m in mailboxes] == list(range(box0, box0 + MAILBOXES))
    thread0 = _reserve("mail_mailthread", threads)
    message0 = _reserve("mail_message", n)
    with transaction.atomic(), tenant_context(organization):
        _threads(org, thread0, threads)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        with transaction.atomic(), tenant_context(organization):
            _messages(org, start, stop, thread0, message0, box0, contact0)
        print(f"  messages {stop}/{n}", file=sys.stderr)


def _threads(org: int, thread0: int, threads: int) -> None:
    _sql(
        "INSERT INTO mail_mailthread (id, organization_id, subject, message_count, created_at, "
        "first_message_at, last_message_at) "
        f"SELECT %s + t, %s, initcap((%s::text[])[1 + t %% {VOCABULARY}]) || ' ' || "
        f"(%s::text[])[1 + (t / {VOCABULARY}) %% {VOCABULARY}] || ' #' || t, "
        "CASE WHEN t = 0 THEN 20 ELSE 4 END, "
        "now(), now() - interval '730 days' + t * interval '4 minutes', "
        "now() - interval '730 days' + t * interval '4 minutes' + interval '3 hours' "
        "FROM generate_series(0, %s - 1) t",
        [thread0, org, WORDS, WORDS, threads],
    )


def _messages(
    org: int, start: int, stop: int, thread0: int, message0: int, box0: int, contact0: int
) -> None:
    # Conversation t is with contact (7t mod C) and held by mailbox t mod 50; every tenth is
    # also held by the next mailbox (a teammate in copy). Even positions come in, odd go out.
    series = f"SELECT i, {THREAD_OF} AS t, {POSITION_OF} AS k FROM generate_series(%s, %s) i"
    rep = f"'rep' || (s.t %% {MAILBOXES}) || '@{DOMAIN}'"
    contact = f"(s.t * 7) %% {CONTACTS}"
    customer = f"'c' || {contact} || '@acct' || ({contact} %% {ACCOUNTS}) || '.test'"
    _sql(
        "INSERT INTO mail_message (id, organization_id, thread_id, rfc_message_id, subject, "
        "sent_at, from_address, from_name, snippet, text_body, html_body, body_fetched, size, "
        'direction, has_attachments, in_reply_to, "references", created_at, updated_at) '
        f"SELECT %s + s.i, %s, %s + s.t, '<bench-' || s.i || '@bench>', t.subject, "
        "t.first_message_at + s.k * interval '9 minutes', "
        f"CASE WHEN s.k %% 2 = 0 THEN {customer} ELSE {rep} END, '', left(b.body, 120), b.body, "
        "'', true, 2000, CASE WHEN s.k %% 2 = 0 THEN 'inbound' ELSE 'outbound' END, "
        "s.i %% 9 = 0, '', '', now(), now() "
        f"FROM ({series}) s JOIN mail_mailthread t ON t.id = %s + s.t "
        "CROSS JOIN LATERAL (SELECT string_agg((%s::text[])"
        f"[1 + (s.i * 31 + j * j * 7) %% {VOCABULARY}], "
        "' ') AS body FROM generate_series(1, 30) j) b",
        [message0, org, thread0, start, stop - 1, thread0, WORDS],
    )
    for extra in (0, 1):
        _sql(
            "INSERT INTO mail_messagecopy (organization_id, mailbox_id, message_id, "
            "provider_message_id, provider_thread_id, folder_ids, is_read, is_starred, "
            "is_archived, in_inbox, in_sent, received_at, pending_flags, created_at, updated_at) "
            f"SELECT %s, %s + (s.t + %s) %% {MAILBOXES}, %s + s.i, %s || s.i, 't' || s.t, '[]', "
            "s.t %% 5 <> 0 OR s.k %% 2 = 1, s.t %% 20 = 0, "
            "s.k %% 2 = 0 AND s.t %% 4 = 0, s.k %% 2 = 0 AND s.t %% 4 <> 0, s.k %% 2 = 1, "
            "now() - interval '730 days' + s.t * interval '4 minutes' "
            "+ s.k * interval '9 minutes', "
            f"'{{}}', now(), now() FROM ({series}) s WHERE %s = 0 OR s.t %% 10 = 0",
            [org, box0, extra, message0, "pq"[extra], start, stop - 1, extra],
        )
    _sql(
        "INSERT INTO mail_participant (organization_id, message_id, role, address, name, "
        "position, contact_id, account_id) "
        f"SELECT %s, %s + s.i, p.role, CASE WHEN p.customer THEN {customer} ELSE {rep} END, "
        "CASE WHEN p.customer THEN c.first_name || ' ' || c.last_name ELSE 'Rep ' || s.t %% 50 "
        "END, p.position, CASE WHEN p.customer THEN c.id END, "
        "CASE WHEN p.customer THEN c.account_id END "
        f"FROM ({series}) s JOIN crm_contact c ON c.id = %s + {contact} "
        "CROSS JOIN LATERAL (VALUES ('from', 0, s.k %% 2 = 0), ('to', 1, s.k %% 2 = 1)) "
        "AS p(role, position, customer)",
        [org, message0, start, stop - 1, contact0],
    )


def _links(organization: Organization, contact0: int, threads: int, thread0: int) -> None:
    for start in range(0, threads, CHUNK * 2):
        stop = min(threads, start + CHUNK * 2)
        with transaction.atomic(), tenant_context(organization):
            _sql(
                "INSERT INTO mail_threadlink (organization_id, thread_id, contact_id, account_id, "
                "source, created_at) "
                f"SELECT %s, %s + t, CASE WHEN side = 0 THEN c.id END, "
                "CASE WHEN side = 1 THEN c.account_id END, 'automatic', now() "
                f"FROM generate_series(%s, %s) t JOIN crm_contact c ON c.id = %s + (t * 7) %% "
                f"{CONTACTS} CROSS JOIN generate_series(0, 1) side",
                [organization.pk, thread0, start, stop - 1, contact0],
            )


def build(n: int) -> Organization:
    organization = Organization.objects.create(
        name="Inbox benchmark (being built)", slug=SLUG, email_domains=[DOMAIN]
    )
    with tenant_context(organization):
        _owner, _member, mailboxes = _people(organization)
        with transaction.atomic(), tenant_context(organization):
            contact0 = _crm(organization)
    _mail(organization, mailboxes, contact0, n)
    with tenant_context(organization):
        thread0 = MailThread.objects.order_by("pk").values_list("pk", flat=True).first()
    _links(organization, contact0, 1 + (n - 20) // 4, int(thread0 or 0))
    with transaction.atomic(), tenant_context(organization), connection.cursor() as cursor:
        inbox_rows_backfill(cursor, organization_id=organization.pk)
    # The full-text index, as the sync's indexing tasks and the beat's drain keep it.
    with tenant_context(organization):
        while True:
            with transaction.atomic():
                if not search_index_now(organization.pk, max_rows=100_000):
                    break
    for table in ANALYZED:
        _sql(f"VACUUM ANALYZE {table}")
    organization.name = f"Inbox benchmark {n}"  # complete: a later run may reuse it
    organization.save(update_fields=["name"])
    return organization


def drop(organization: Organization) -> None:
    """Delete the benchmark's organization table by table (the ORM would load every row)."""
    org = organization.pk
    # The search index first: its triggers then have nothing left to refresh.
    tables = [
        "mail_search", "mail_foldercount", "mail_mailboxthread", "mail_threadlink",
        "mail_participant", "mail_attachment", "mail_messagecopy", "mail_message",
        "mail_mailthread", "crm_contactemail", "crm_contact", "crm_accountdomain", "crm_account",
    ]  # fmt: skip
    with transaction.atomic(), all_tenants():
        for table in tables:
            _sql(f"DELETE FROM {table} WHERE organization_id = %s", [org])
        users = list(Membership.objects.filter(organization=organization).values("user_id"))
        organization.delete()
        User.objects.filter(pk__in=[u["user_id"] for u in users]).delete()


# -- measuring -----------------------------------------------------------------------------------


def timed(client: Client, url: str, token: str, repeat: int) -> dict[str, Any]:
    """Latency of ``url`` (p50, p95), its query count, and the median time spent waiting on
    the database (the rest is Python: routing, authentication, ORM, serialization)."""
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    queries: list[str] = []
    waited: list[float] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(sql)
            waited.append((time.perf_counter() - started) * 1000)

    times, sql_times = [], []
    for _ in range(repeat):
        queries.clear()
        waited.clear()
        with connection.execute_wrapper(record):
            started = time.perf_counter()
            client.get(url, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
        sql_times.append(sum(waited))
    if os.environ.get("INBOX_BENCH_SQL"):
        print(url, *queries, sep="\n  ", file=sys.stderr)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 2),
        "queries": len(queries),
        "sql_p50_ms": round(statistics.median(sql_times), 2),
    }


def _route_exists(name: str, *args: Any) -> bool:
    try:
        reverse(name, args=args)
    except NoReverseMatch:
        return False
    return True


def measure(organization: Organization, repeat: int) -> dict[str, Any]:
    with tenant_context(organization):
        member = User.objects.get(email=f"rep0@{DOMAIN}")
        token = services.api_token_issue(user=member, description="bench", scopes=["read"])
        thread = MailThread.objects.filter(message_count=20).order_by("pk").first()
        contact = Contact.objects.filter(
            pk__in=thread.links.filter(contact__isnull=False).values("contact")  # type: ignore[union-attr]
        ).first()
        search_word = Contact.objects.order_by("pk").values_list("last_name", flat=True)[3]
    client = Client()
    inbox = f"{PREFIX}/email/inbox"
    endpoints = {
        "page1": f"{inbox}?limit=25",
        "page500": f"{inbox}?page=500&limit=25",
        "search": f"{inbox}?q={search_word}",
        "counts": f"{PREFIX}/email/folders/counts",
    }
    if thread is not None and _route_exists("email-thread", thread.pk):
        endpoints["thread"] = f"{PREFIX}/email/thread/{thread.pk}"
    if contact is not None and _route_exists("entity-threads", "contact", contact.pk):
        endpoints["entity_threads"] = f"{PREFIX}/email/threads/contact/{contact.pk}"
    # An authenticated endpoint that reads nothing: what any request costs on this machine.
    endpoints["baseline"] = f"{PREFIX}/oauth/providers"
    result: dict[str, Any] = {"database": connection.vendor, "queries": {}, "sql_p50_ms": {}}
    for name, url in endpoints.items():
        figures = timed(client, url, token.secret, repeat)
        result[f"{name}_p50_ms"] = figures["p50_ms"]
        result[f"{name}_p95_ms"] = figures["p95_ms"]
        result["queries"][name] = figures["queries"]
        result["sql_p50_ms"][name] = figures["sql_p50_ms"]
    for limit in (10, 100):
        figures = timed(client, f"{inbox}?limit={limit}", token.secret, 1)
        result["queries"][f"page1_limit{limit}"] = figures["queries"]
    with tenant_context(organization):
        token.token.delete()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the data for the next run")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("The inbox benchmark runs on PostgreSQL (DATABASE_URL).")
    call_command("migrate", verbosity=0)
    organization = Organization.objects.filter(slug=SLUG).first()
    if organization is not None and organization.name != f"Inbox benchmark {args.messages}":
        drop(organization)
        organization = None
    started = time.perf_counter()
    if organization is None:
        organization = build(args.messages)
    built_s = round(time.perf_counter() - started, 1)
    try:
        result = measure(organization, args.repeat)
        result |= {"messages": args.messages, "setup_s": built_s}
    finally:
        if not args.keep:
            drop(organization)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
