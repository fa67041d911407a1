"""The inbox list renders its rows as plain data (its hot path): exactly what the serializers
that document the shapes would give, for conversations and messages, at every level."""

from __future__ import annotations

import pytest

from integrations.mail.api import inbox_serializers as s
from integrations.mail.models import MailThread, SharedInbox, Visibility
from integrations.mail.search import search_parse
from integrations.mail.selectors_inbox import InboxFilters, InboxView, inbox_page
from integrations.mail.services import mailbox_update
from tests.conftest import Tenant
from tests.mail.inbox.support import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a: Tenant) -> World:
    world = build_world(org_a)
    with org_a.scope():
        support = SharedInbox.objects.create(name="Support", color="#00AA00")
        mailbox_update(mailbox=world.sales, shared_inbox=support)
        renewal = MailThread.objects.get(subject="Renewal")
        renewal.assigned_to = org_a.member
        renewal.save(update_fields=["assigned_to"])
    return world


@pytest.mark.parametrize("visibility", [Visibility.METADATA, Visibility.SUBJECT, Visibility.FULL])
def test_conversation_rows_render_as_the_conversation_serializer_does(
    org_a: Tenant, world: World, visibility: str
) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.sales, visibility=visibility)
        for user in (org_a.owner, org_a.member):
            rows = inbox_page(user=user, filters=InboxFilters(folder="all")).results
            assert rows
            for row in rows:
                assert s.conversation_data(row) == s.ConversationSerializer(row).data


def test_message_rows_render_as_the_message_serializer_does(org_a: Tenant, world: World) -> None:
    with org_a.scope():
        mailbox_update(mailbox=world.sales, visibility=Visibility.SUBJECT)
        for user in (org_a.owner, org_a.member):
            for query in ("", "from:dana"):
                filters = InboxFilters(
                    folder="all", view=InboxView.MESSAGES, query=search_parse(query)
                )
                rows = inbox_page(user=user, filters=filters).results
                assert rows
                for row in rows:
                    assert s.message_data(row) == s.InboxMessageSerializer(row).data
