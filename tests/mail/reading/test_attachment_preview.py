"""PDF attachments read without a download: a page drawn as a PNG by the API, a preview page
in the web UI, a thumbnail in the thread view; errors in the API's format; isolation."""

from __future__ import annotations

import io
import struct
from typing import Any

import pypdfium2 as pdfium
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from integrations.mail.models import Attachment, Mailbox
from tests.conftest import Tenant, token_client
from tests.mail.factories import ConnectionFactory, MailboxFactory, mail_message

pytestmark = pytest.mark.django_db

API = "/api/v1/integrations"
MARKER = "alpha-secret"


def pdf_document(pages: int, size: tuple[float, float] = (612, 792)) -> bytes:
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(*size)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
def mail(org_a: Tenant) -> dict[str, Any]:
    """A message with a two-page PDF, a PDF-named HTML file, a damaged and an empty PDF."""
    with org_a.scope():
        box: Mailbox = MailboxFactory(connection=ConnectionFactory(user=org_a.member))
        message = mail_message(
            box, sender="ada@acme.test", to=[box.address], subject=f"{MARKER} contract"
        )

        def attached(name: str, content_type: str, data: bytes) -> Attachment:
            attachment = Attachment.objects.create(
                message=message, filename=name, content_type=content_type, size=len(data)
            )
            attachment.content.save(name, ContentFile(data))
            return attachment

        return {
            "mailbox": box,
            "message": message,
            "pdf": attached(f"{MARKER}.pdf", "application/pdf", pdf_document(2)),
            "fake": attached("invoice.pdf", "application/pdf", b"<script>alert(1)</script>"),
            "broken": attached("broken.pdf", "application/pdf", b"%PDF-1.7\n\x00garbage"),
            "empty": attached("empty.pdf", "application/pdf", pdf_document(0)),
            "text": attached("notes.txt", "text/plain", b"%PDF- but text"),
        }


def _preview_url(mail: dict[str, Any], key: str) -> str:
    return f"{API}/email/messages/{mail['message'].pk}/attachments/{mail[key].pk}/preview"


def test_a_pdf_page_is_drawn_as_a_png_no_wider_than_the_preview_with_the_page_count(
    org_a: Tenant, mail: dict[str, Any]
) -> None:
    client = token_client(org_a, org_a.member)

    first = client.get(_preview_url(mail, "pdf"))
    second = client.get(_preview_url(mail, "pdf"), {"page": "2"})

    assert first.status_code == 200 and second.status_code == 200
    assert first["Content-Type"] == "image/png" and first["X-Page-Count"] == "2"
    assert first["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in first["Content-Security-Policy"]
    width, height = png_size(first.content)
    assert width == 1000 and 1290 <= height <= 1295  # US Letter's proportions
    assert png_size(second.content) == (width, height)


def test_a_huge_page_is_drawn_within_the_pixel_budget(org_a: Tenant, mail: dict[str, Any]) -> None:
    with org_a.scope():
        poster = Attachment.objects.create(
            message=mail["message"], filename="poster.pdf", content_type="application/pdf"
        )
        poster.content.save("poster.pdf", ContentFile(pdf_document(1, size=(600, 14400))))
    url = f"{API}/email/messages/{mail['message'].pk}/attachments/{poster.pk}/preview"

    width, height = png_size(token_client(org_a).get(url).content)

    assert width * height <= 1000 * 3000 and height > 2000


@pytest.mark.parametrize(
    ("key", "query", "field", "text"),
    [
        ("pdf", {"page": "3"}, "page", "The document has 2 pages."),
        ("pdf", {"page": "0"}, "page", ""),
        ("pdf", {"page": "two"}, "page", ""),
        ("fake", {}, "attachment", "Only PDF attachments have a preview."),
        ("text", {}, "attachment", "Only PDF attachments have a preview."),
        ("broken", {}, "attachment", "cannot be read"),
        ("empty", {}, "attachment", "cannot be read"),
    ],
)
def test_what_cannot_be_previewed_is_a_400_in_the_error_format(
    org_a: Tenant, mail: dict[str, Any], key: str, query: dict[str, str], field: str, text: str
) -> None:
    response = token_client(org_a).get(_preview_url(mail, key), query)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidRequest" and field in body["details"]
    assert text in " ".join(body["details"][field])


def test_a_pdf_whose_content_is_not_shared_is_a_404(
    org_a: Tenant, erin: Any, mail: dict[str, Any]
) -> None:
    with org_a.scope():
        Mailbox.objects.filter(pk=mail["mailbox"].pk).update(visibility="subject")

    response = token_client(org_a, erin).get(_preview_url(mail, "pdf"))

    assert response.status_code == 404 and response.json()["code"] == "AttachmentNotFound"


def test_another_organizations_pdf_is_a_404_in_the_api_and_the_web(
    org_b: Tenant, mail: dict[str, Any]
) -> None:
    web = Client()
    web.force_login(org_b.owner)
    page = reverse("mail-attachment-preview", args=[mail["message"].pk, mail["pdf"].pk])

    api = token_client(org_b).get(_preview_url(mail, "pdf"))
    html = web.get(page)

    assert api.status_code == 404 and MARKER not in api.content.decode()
    assert html.status_code == 404 and MARKER not in html.content.decode()
    assert web.post(page).status_code == 405


@pytest.fixture
def reader(org_a: Tenant) -> Client:
    """A member of A, signed in to the web UI."""
    web = Client()
    web.force_login(org_a.member)
    return web


def _preview_page(web: Client, mail: dict[str, Any], key: str) -> Any:
    return web.get(reverse("mail-attachment-preview", args=[mail["message"].pk, mail[key].pk]))


def test_the_preview_page_shows_every_page_as_a_picture_beside_the_download(
    reader: Client, mail: dict[str, Any]
) -> None:
    page = _preview_page(reader, mail, "pdf").content.decode()

    base = (
        f"http://testserver{API}/email/messages/{mail['message'].pk}/attachments/{mail['pdf'].pk}"
    )
    assert f'src="{base}/preview?page=1"' in page and f'src="{base}/preview?page=2"' in page
    assert "preview?page=3" not in page and "2 pages" in page
    assert f'href="{base}?download=1"' in page


def test_the_preview_page_explains_what_it_cannot_show(
    reader: Client, mail: dict[str, Any]
) -> None:
    fake, broken, empty = (_preview_page(reader, mail, key) for key in ("fake", "broken", "empty"))

    assert fake.status_code == 200 and "Only PDF attachments have a preview." in fake.text
    assert "cannot be read" in broken.text and '<img class="pdf-preview__page"' not in broken.text
    assert "cannot be read" in empty.text


def test_the_thread_view_shows_a_pdfs_first_page_and_a_preview_link(
    reader: Client, mail: dict[str, Any]
) -> None:
    message, pdf = mail["message"], mail["pdf"]

    page = reader.get(reverse("inbox_thread", args=[message.thread_id])).content.decode()

    preview = reverse("mail-attachment-preview", args=[message.pk, pdf.pk])
    assert f'attachments/{pdf.pk}/preview?page=1"' in page
    assert f'href="{preview}"' in page and "Preview" in page
