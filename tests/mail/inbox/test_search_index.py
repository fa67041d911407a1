"""The PostgreSQL search index follows the mail by itself: bodies stored later, HTML-only mail
without its markup, deleted messages gone. SQLite searches the tables directly."""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.mail.models import Message
from integrations.mail.search import search_parse
from integrations.mail.selectors_inbox import InboxFilters, inbox_page
from tests.conftest import Tenant
from tests.mail.inbox.support import Mail, mailbox_of, store

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the search index exists on PostgreSQL only"
)


def found(org: Tenant, text: str) -> list[str | None]:
    filters = InboxFilters(folder="all", query=search_parse(text))
    page = inbox_page(user=org.owner, filters=filters)
    return [row.subject for row in page.results]


def test_a_body_stored_after_the_message_is_searchable(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Later", text=""))
        assert found(org_a, "forecast") == []
        Message.objects.filter(subject="Later").update(text_body="The forecast is attached")
        assert found(org_a, "forecast") == ["Later"]


@postgres_only
def test_html_only_mail_is_searched_by_its_text_not_its_markup(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Html", text=""))
        Message.objects.filter(subject="Html").update(
            html_body="<style>.note { color: red }</style><p>Quarterly <b>forecast</b></p>"
        )
        assert found(org_a, "forecast") == ["Html"]
        assert found(org_a, "color") == []
        assert found(org_a, "style") == []


@postgres_only
def test_a_removed_message_leaves_the_index(org_a: Tenant) -> None:
    with org_a.scope():
        box = mailbox_of(org_a.owner, "google", "alice@alpha.test")
        store(box, Mail("a1", "dana@customer.test", subject="Gone", text="ephemeral"))
        message_id = Message.objects.get(subject="Gone").pk
        store(box, removed=["a1"])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM mail_search WHERE message_id = %s", [message_id])
            assert cursor.fetchone()[0] == 0
