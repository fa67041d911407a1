"""The web side of reading: the message page, the body as a sandboxed document under a strict
Content-Security-Policy, "Show images" with htmx, and the isolation of these routes."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from crm.models import User
from integrations.mail import web_reading
from integrations.mail.models import Attachment, Mailbox
from tests.conftest import Tenant
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "message-body"}
MARKER = "alpha-secret"
HTML = (
    f'<p>{MARKER} terms</p><img src="cid:logo@acme.test">'
    '<img src="https://tracker.test/open.gif"><script>parent.__pwned = 1</script>'
)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def message(org_a: Tenant) -> Any:
    with org_a.scope():
        box: Mailbox = MailboxFactory(connection=ConnectionFactory(user=org_a.member))
        message = mail_message(
            box, sender="ada@acme.test", to=[box.address], subject=MARKER, html_body=HTML
        )
        Attachment.objects.create(
            message=message,
            filename="logo.png",
            content_type="image/png",
            content_id="logo@acme.test",
            is_inline=True,
        )
    return message


def test_the_message_page_frames_the_body_in_a_sandboxed_iframe(
    org_a: Tenant, message: Any
) -> None:
    page = _client(org_a.owner).get(reverse("mail-message", args=[message.pk])).content.decode()

    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page
    assert f'src="{reverse("mail-message-body", args=[message.pk])}"' in page
    assert "1 remote image hidden" in page and "Show images" in page
    assert "<script>parent" not in page  # the body is never inlined into the page


def test_the_body_document_is_sanitized_and_served_under_a_strict_policy(
    org_a: Tenant, message: Any
) -> None:
    response = _client(org_a.owner).get(reverse("mail-message-body", args=[message.pk]))

    body = response.content.decode()
    policy = response["Content-Security-Policy"]
    attachments = f"http://testserver/api/v1/integrations/email/messages/{message.pk}/attachments/"
    assert response.status_code == 200 and f"{MARKER} terms" in body
    assert "<script" not in body.split("</head>")[1] and "__pwned" not in body
    assert f'src="{attachments}' in body and "?sig=" in body
    assert 'data-remote-src="https://tracker.test/open.gif"' in body
    for directive in (
        "default-src 'none'",
        f"img-src {attachments};",
        "style-src 'unsafe-inline'",
        "frame-ancestors 'self' http://testserver",
        "form-action 'none'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ):
        assert directive in policy
    assert "script-src" not in policy and "https:" not in policy
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert response["Referrer-Policy"] == "no-referrer"


def test_show_images_reloads_the_frame_with_remote_images_allowed(
    org_a: Tenant, message: Any
) -> None:
    client = _client(org_a.owner)

    partial = client.get(reverse("mail-message", args=[message.pk]), {"images": "1"}, **HTMX)
    document = client.get(reverse("mail-message-body", args=[message.pk]), {"images": "1"})

    fragment = partial.content.decode()
    assert "<html" not in fragment and "Show images" not in fragment
    assert f"{reverse('mail-message-body', args=[message.pk])}?images=1" in fragment
    assert 'src="https://tracker.test/open.gif"' in document.content.decode()
    assert "https: http:" in document["Content-Security-Policy"]


def test_mail_whose_content_is_not_shared_shows_no_frame_and_its_body_is_a_404(
    org_a: Tenant, message: Any
) -> None:
    with org_a.scope():
        Mailbox.objects.filter(copies__message=message).update(visibility="metadata")
    from tests.factories import MembershipFactory, UserFactory

    erin = UserFactory(email="erin@alpha.test")
    MembershipFactory(user=erin, organization=org_a.organization, role="member")
    client = _client(erin)

    page = client.get(reverse("mail-message", args=[message.pk])).content.decode()
    body = client.get(reverse("mail-message-body", args=[message.pk]))

    assert "shares who and when only" in page and "<iframe" not in page and MARKER not in page
    assert body.status_code == 404


# --- Isolation of the reading web routes ---------------------------------------------------------

OBJECT_ROUTES = ["mail-message", "mail-message-body"]


def test_every_reading_web_route_has_an_isolation_check() -> None:
    names = {p.name for p in web_reading.urlpatterns if isinstance(p, URLPattern)}

    # The PDF preview names an attachment too: tests/mail/reading/test_attachment_preview.py.
    assert names == {*OBJECT_ROUTES, "mail-attachment-preview"}


@pytest.mark.parametrize("name", OBJECT_ROUTES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_another_organizations_message_is_a_404(
    org_b: Tenant, message: Any, name: str, method: str
) -> None:
    charlie = _client(org_b.owner)

    response = getattr(charlie, method)(reverse(name, args=[message.pk]), {"images": "1"})

    assert response.status_code == (405 if method == "post" else 404)
    assert MARKER not in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(message: Any) -> None:
    response = Client().get(reverse("mail-message-body", args=[message.pk]))

    assert response.status_code == 302 and "/auth/login/" in response["Location"]
