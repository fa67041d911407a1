"""The Emails tab of contacts, accounts and deals: linked threads, newest first, paginated with
htmx, as the mailbox visibility policy allows; and the isolation of every mail web route."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse

from crm.models import User
from integrations.mail import web_matching
from integrations.mail.matching import match_messages
from integrations.mail.models import BlocklistEntry, Mailbox, Message
from integrations.mail.selectors_threads import threads_for_entity
from tests.conftest import Tenant
from tests.factories import (
    ContactFactory,
)
from tests.mail.conftest import TEAM_SNIPPET, TEAM_SUBJECT, ada_team_mail
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "emails-list"}
SUBJECT = TEAM_SUBJECT
SNIPPET = TEAM_SNIPPET


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ada_mail(org_a: Tenant) -> dict[str, Any]:
    """Bob's mailbox holds a thread with Ada (contact of Acme, on an open deal)."""
    return vars(ada_team_mail(org_a))


def _set_visibility(org_a: Tenant, mailbox: Mailbox, visibility: str) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=mailbox.pk).update(visibility=visibility)


@pytest.mark.parametrize("kind", ["contact", "account", "deal"])
def test_the_tab_lists_linked_threads_with_subject_people_count_and_snippet(
    org_a: Tenant, erin: User, ada_mail: dict[str, Any], kind: str
) -> None:
    record = ada_mail[kind]

    response = _client(erin).get(reverse(f"{kind}_emails", args=[record.pk]), **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page  # the htmx partial, not a page
    assert SUBJECT in page and SNIPPET in page
    assert "Ada Lovelace" in page and "Bob" in page
    assert "1 conversation" in page


def test_without_htmx_the_tab_is_a_page_of_its_own(org_a: Tenant, ada_mail: dict[str, Any]) -> None:
    contact = ada_mail["contact"]

    response = _client(org_a.owner).get(reverse("contact_emails", args=[contact.pk]))

    page = response.content.decode()
    assert "<html" in page and "Emails with Ada Lovelace" in page and SUBJECT in page


def test_metadata_visibility_hides_subject_and_snippet(
    org_a: Tenant, erin: User, ada_mail: dict[str, Any]
) -> None:
    _set_visibility(org_a, ada_mail["mailbox"], "metadata")

    page = _client(erin).get(reverse("contact_emails", args=[ada_mail["contact"].pk]), **HTMX)

    text = page.content.decode()
    assert "Ada Lovelace" in text and "Subject hidden" in text
    assert SUBJECT not in text and SNIPPET not in text


def test_subject_visibility_hides_the_snippet(
    org_a: Tenant, erin: User, ada_mail: dict[str, Any]
) -> None:
    _set_visibility(org_a, ada_mail["mailbox"], "subject")

    page = _client(erin).get(reverse("contact_emails", args=[ada_mail["contact"].pk]), **HTMX)

    assert SUBJECT in page.content.decode() and SNIPPET not in page.content.decode()


def test_private_mail_shows_to_the_mailbox_owner_and_admins_only(
    org_a: Tenant, erin: User, ada_mail: dict[str, Any]
) -> None:
    _set_visibility(org_a, ada_mail["mailbox"], "private")
    url = reverse("contact_emails", args=[ada_mail["contact"].pk])

    for user, sees in ((org_a.member, True), (org_a.owner, True), (erin, False)):
        text = _client(user).get(url, **HTMX).content.decode()
        assert (SNIPPET in text) is sees, user
    assert "No e-mails with Ada Lovelace yet" in _client(erin).get(url, **HTMX).content.decode()


def test_a_thread_shows_at_the_best_level_one_of_its_mailboxes_allows(
    org_a: Tenant, erin: User, ada_mail: dict[str, Any]
) -> None:
    _set_visibility(org_a, ada_mail["mailbox"], "private")
    with org_a.scope():
        shared = MailboxFactory(connection=ConnectionFactory(user=org_a.owner))
        Mailbox.objects.filter(pk=shared.pk).update(visibility="subject")
        reply = mail_message(
            shared,
            sender="ada@acme.test",
            to=[org_a.owner.email],
            thread=ada_mail["message"].thread,
        )
        match_messages(mailbox=shared, messages=[reply])

    page = _client(erin).get(reverse("contact_emails", args=[ada_mail["contact"].pk]), **HTMX)

    text = page.content.decode()
    assert SUBJECT in text and SNIPPET not in text
    row = page.context["threads"].results[0]
    assert row.message_count == 1  # the private message is not counted either


def test_records_without_mail_show_a_plain_empty_state(org_a: Tenant) -> None:
    with org_a.scope():
        contact = ContactFactory(first_name="Nobody", last_name="Yet")

    page = _client(org_a.owner).get(reverse("contact_emails", args=[contact.pk]), **HTMX)

    assert "No e-mails with Nobody Yet yet." in page.content.decode()


def test_threads_are_newest_first_and_paged_with_htmx_links(
    org_a: Tenant, ada_mail: dict[str, Any]
) -> None:
    with org_a.scope():
        box = ada_mail["mailbox"]
        newer = [
            mail_message(box, sender=box.address, to=["ada@acme.test"], subject=f"Topic {i}")
            for i in range(11)
        ]
        match_messages(mailbox=box, messages=newer)
    url = reverse("contact_emails", args=[ada_mail["contact"].pk])
    bob = _client(org_a.member)

    first = bob.get(url, **HTMX)
    second = bob.get(url, {"page": 2}, **HTMX)

    assert [t.subject for t in first.context["threads"].results][:2] == ["Topic 10", "Topic 9"]
    assert f'hx-get="{url}?page=2"' in first.content.decode()
    assert [t.subject for t in second.context["threads"].results] == ["Topic 0", SUBJECT]
    assert "Page 2 of 2" in second.content.decode()


def test_a_page_of_threads_costs_the_same_queries_however_many_rows(
    org_a: Tenant, ada_mail: dict[str, Any]
) -> None:
    box = ada_mail["mailbox"]
    counts = []
    with org_a.scope():
        for size in (2, 10):
            more = [
                mail_message(box, sender=box.address, to=["ada@acme.test", f"p{i}@acme.test"])
                for i in range(size)
            ]
            match_messages(mailbox=box, messages=more)
            with CaptureQueriesContext(connection) as queries:
                page = threads_for_entity(entity=ada_mail["contact"], user=org_a.member, limit=50)
            assert len(page.results) == Message.objects.count()
            counts.append(len(queries))

    assert counts[0] == counts[1] <= 4


# --- Isolation of the mail web routes -----------------------------------------------------------

# Routes naming one of A's objects: url name → the key of that object in ``alpha``.
OBJECT_ROUTES = {
    "contact_emails": "contact",
    "account_emails": "account",
    "deal_emails": "deal",
    "blocklist_remove": "entry",
}
PAGES = ["blocklist"]


def test_every_mail_web_route_has_an_isolation_check() -> None:
    names = {p.name for p in web_matching.urlpatterns if isinstance(p, URLPattern)}

    assert names == set(OBJECT_ROUTES) | set(PAGES)


@pytest.fixture
def alpha(org_a: Tenant, ada_mail: dict[str, Any]) -> dict[str, Any]:
    with org_a.scope():
        entry = BlocklistEntry.objects.create(value="@alpha-secret.test")
    return {**ada_mail, "entry": entry}


@pytest.mark.parametrize("name", sorted(OBJECT_ROUTES))
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_record_is_a_404(
    org_a: Tenant, org_b: Tenant, alpha: dict[str, Any], name: str, method: str
) -> None:
    charlie = _client(org_b.owner)
    url = reverse(name, args=[alpha[OBJECT_ROUTES[name]].pk])

    response = getattr(charlie, method)(url, **HTMX)

    # The remove view only takes POST and answers a GET with 405 before looking anything up.
    expected = 405 if (name, method) == ("blocklist_remove", "get") else 404
    assert response.status_code == expected
    assert SUBJECT not in response.content.decode()
    with org_a.scope():
        assert BlocklistEntry.objects.filter(pk=alpha["entry"].pk).exists()


def test_the_blocklist_page_never_shows_another_organizations_entries(
    org_b: Tenant, alpha: dict[str, Any]
) -> None:
    page = _client(org_b.owner).get(reverse("blocklist")).content.decode()

    assert "alpha-secret" not in page and "Nothing is blocked" in page
