"""Another organization's user never sees A's mail in the inbox or its counts, and naming A's
mailbox, shared inbox, record or member as a filter gets the not-found or invalid answer."""

from __future__ import annotations

import pytest

from integrations.mail.models import InboxFolder, SharedInbox
from tests.conftest import Tenant, token_client
from tests.isolation.cases import MARKER
from tests.mail.inbox.support import Mail, build_world, store

pytestmark = pytest.mark.django_db

INBOX = "/api/v1/integrations/email/inbox"
COUNTS = "/api/v1/integrations/email/folders/counts"


def test_another_organization_sees_none_of_the_inbox(org_a: Tenant, org_b: Tenant) -> None:
    world = build_world(org_a)
    with org_a.scope():
        store(world.alice, Mail("m1", f"{MARKER}@alpha-customer.test", subject=MARKER, at=70,
                                text=MARKER))  # fmt: skip
        inbox = SharedInbox.objects.create(name=MARKER, color="#123456")
    charlie = token_client(org_b, scopes=("read",))
    for view in ("conversations", "messages"):
        for folder in InboxFolder:
            for query in ("", MARKER, f"from:{MARKER}", f"subject:{MARKER}"):
                response = charlie.get(INBOX, {"view": view, "folder": folder.value, "q": query})
                assert response.status_code == 200
                assert response.json()["total"] == 0 and MARKER not in response.content.decode()
    response = charlie.get(COUNTS)
    assert all(folder["total"] == 0 for folder in response.json().values())
    for params, status in [
        ({"mailbox": world.alice.pk}, 404),
        ({"sharedInbox": inbox.pk}, 404),
        ({"entityType": "contact", "entityId": world.dana.pk}, 404),
        ({"entityType": "account", "entityId": world.customer.pk}, 404),
        ({"assignedTo": org_a.member.pk}, 400),
    ]:
        response = charlie.get(INBOX, params)
        assert response.status_code == status, params
        assert MARKER not in response.content.decode()
    assert charlie.get(COUNTS, {"mailbox": world.alice.pk}).status_code == 404
