"""Reading synced Gmail and Microsoft 365 mail through the API: the thread, one message, and the
sanitized HTML with its inline images resolved through signed attachment links."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from integrations.mail.models import Attachment
from tests.conftest import Tenant, token_client
from tests.connections.conftest import Providers
from tests.factories import ContactEmailFactory, ContactFactory
from tests.mail.reading.support import (
    CUSTOMER,
    LOGO,
    LOGO_CID,
    PDF_NAME,
    SPACER,
    SPACER_CID,
    Conversation,
    synced_conversation,
)

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDERS = ["google", "microsoft"]
API = "/api/v1/integrations"
IMG_SRC = re.compile(r'<img[^>]*\ssrc="([^"]+)"')


@pytest.fixture(params=PROVIDERS)
def conversation(request: Any, org_a: Tenant, providers: Providers) -> Conversation:
    with org_a.scope():
        ada = ContactFactory(first_name="Ada", last_name="Lovelace")
        ContactEmailFactory(contact=ada, email=CUSTOMER[1])
    return synced_conversation(request.param, org_a, providers)


def _inline(conversation: Conversation, org: Tenant, content_id: str) -> Attachment:
    with org.scope():
        return Attachment.objects.get(message=conversation.first, content_id=content_id)


def test_the_thread_has_its_messages_in_date_order_with_people_links_attachments_and_bodies(
    org_a: Tenant, conversation: Conversation
) -> None:
    response = token_client(org_a).get(f"{API}/email/thread/{conversation.first.thread_id}")

    assert response.status_code == 200, response.content
    thread = response.json()
    assert thread["subject"].endswith("Quote for 2027") and thread["visibility"] == "full"
    assert [m["id"] for m in thread["messages"]] == [conversation.first.pk, conversation.reply.pk]
    assert thread["messageCount"] == 2
    first, reply = thread["messages"]
    sender = next(p for p in first["participants"] if p["role"] == "from")
    assert sender["address"] == CUSTOMER[1] and sender["name"] == CUSTOMER[0]
    assert sender["contact"]["name"] == "Ada Lovelace"
    assert {"type": "contact", "name": "Ada Lovelace", "source": "automatic"}.items() <= next(
        link for link in thread["links"] if link["type"] == "contact"
    ).items()
    assert first["direction"] == "inbound" and reply["direction"] == "outbound"
    assert first["unread"] is True and reply["unread"] is False
    # Graph sends one body (the HTML); Gmail both.
    assert "our quote is attached" in (first["textBody"] or first["htmlBody"]).lower()
    names = {a["filename"]: a for a in first["attachments"]}
    assert names[PDF_NAME]["contentType"] == "application/pdf"
    assert names[PDF_NAME]["inline"] is False and names[PDF_NAME]["contentId"] is None
    assert names["logo.png"]["inline"] is True and names["logo.png"]["contentId"] == LOGO_CID
    assert all(a["url"].startswith("http://testserver/api/") for a in first["attachments"])
    assert "<b>we accept</b>" in reply["htmlBody"] and reply["attachments"] == []


def test_the_html_body_is_sanitized_with_cid_images_resolved_and_remote_images_blocked(
    org_a: Tenant, conversation: Conversation
) -> None:
    response = token_client(org_a).get(f"{API}/email/messages/{conversation.first.pk}")

    body = response.json()
    markup = body["htmlBody"]
    assert "<script" not in markup and "alert(" not in markup
    assert "cid:" not in markup
    sources = [html.unescape(src) for src in IMG_SRC.findall(markup)]
    logo = _inline(conversation, org_a, LOGO_CID)
    spacer = _inline(conversation, org_a, SPACER_CID)
    for attachment in (logo, spacer):
        url = f"http://testserver{API}/email/messages/{conversation.first.pk}/attachments/"
        assert any(src.startswith(f"{url}{attachment.pk}?sig=") for src in sources)
    assert not any("tracker.acme.test" in src for src in sources)
    assert 'data-remote-src="https://tracker.acme.test/open.gif?u=1"' in markup
    assert body["remoteImages"] == 1 and body["imagesShown"] is False
    assert 'href="https://acme.test/quote" target="_blank" rel="noopener noreferrer"' in markup


def test_images_1_lets_the_remote_images_load(org_a: Tenant, conversation: Conversation) -> None:
    response = token_client(org_a).get(
        f"{API}/email/thread/{conversation.first.thread_id}", {"images": "1"}
    )

    first = response.json()["messages"][0]
    assert 'src="https://tracker.acme.test/open.gif?u=1"' in first["htmlBody"]
    assert first["imagesShown"] is True and "data-remote-src" not in first["htmlBody"]


def test_inline_images_stream_through_their_signed_links_without_a_session(
    org_a: Tenant, conversation: Conversation
) -> None:
    markup = token_client(org_a).get(f"{API}/email/messages/{conversation.first.pk}").json()
    sources = [html.unescape(src) for src in IMG_SRC.findall(markup["htmlBody"])]
    anonymous = APIClient()

    images = [
        anonymous.get(src.replace("http://testserver", ""), HTTP_ACCEPT="image/png,image/*")
        for src in sources[:2]
    ]

    assert [r.status_code for r in images] == [200, 200]
    assert [b"".join(r.streaming_content) for r in images] == [LOGO, SPACER]
    for response in images:
        assert response["Content-Type"] == "image/png"
        assert response["Content-Disposition"].startswith("inline;")
        assert response["X-Content-Type-Options"] == "nosniff"


def test_a_signed_link_opens_only_its_own_attachment(
    org_a: Tenant, conversation: Conversation
) -> None:
    markup = token_client(org_a).get(f"{API}/email/messages/{conversation.first.pk}").json()
    logo_link = html.unescape(IMG_SRC.findall(markup["htmlBody"])[0]).replace(
        "http://testserver", ""
    )
    with org_a.scope():
        pdf = Attachment.objects.get(message=conversation.first, is_inline=False)
    base, signature = logo_link.split("?sig=")
    anonymous = APIClient()

    other = anonymous.get(f"{base.rsplit('/', 1)[0]}/{pdf.pk}?sig={signature}")
    tampered = anonymous.get(f"{base}?sig={signature[:-2]}xx")
    unsigned = anonymous.get(base)

    assert [other.status_code, tampered.status_code, unsigned.status_code] == [401, 401, 401]
    assert other.json()["code"] == "AuthenticationRequired"


def test_a_signed_link_stops_working_when_its_member_leaves(
    org_a: Tenant, conversation: Conversation
) -> None:
    from crm.models import Membership

    markup = token_client(org_a).get(f"{API}/email/messages/{conversation.first.pk}").json()
    link = html.unescape(IMG_SRC.findall(markup["htmlBody"])[0]).replace("http://testserver", "")
    Membership.objects.filter(user=org_a.owner, organization=org_a.organization).delete()

    assert APIClient().get(link).status_code == 401
