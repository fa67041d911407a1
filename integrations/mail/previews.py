"""Pictures of a PDF attachment's pages, so a reader sees the document in Liaison without
downloading it or handing it to a viewer plugin.

    pdf_content(attachment) -> bytes                 # PreviewUnavailable if it is no PDF
    pdf_page_count(data) -> int                      # PreviewUnavailable if it cannot be read
    pdf_page_picture(data, page=1) -> (png, pages)   # PageOutOfRange, PreviewUnavailable

Pages are drawn by PDFium (pypdfium2, the engine of Chromium's own viewer) at a bounded size:
at most PREVIEW_WIDTH pixels wide and MAX_PIXELS in all, whatever the page's declared size.
No form environment is set up, so a document's scripts and form actions never run. Documents
over MAX_BYTES are not drawn (they download). PDFium is not thread-safe: one lock serializes its
use in a process.
"""

from __future__ import annotations

import io
import threading

import pypdfium2 as pdfium

from integrations.mail.content import attachment_content_ensure, media_type
from integrations.mail.models import Attachment

PDF_MAGIC = b"%PDF-"
PREVIEW_WIDTH = 1000
MAX_PIXELS = 1000 * 3000
MAX_BYTES = 30 * 1024 * 1024
_PDFIUM = threading.Lock()


class PreviewUnavailable(Exception):
    """The document cannot be read: damaged, encrypted, or not a PDF at all."""


class PageOutOfRange(Exception):
    def __init__(self, pages: int) -> None:
        super().__init__(f"The document has {pages} page{'s' if pages != 1 else ''}.")
        self.pages = pages


def is_pdf(content_type: str, head: bytes) -> bool:
    """Declared a PDF and starting like one (a PDF may have junk before ``%PDF-``; PDFium
    tolerates up to 1,024 bytes of it)."""
    return content_type == "application/pdf" and PDF_MAGIC in head[:1024]


def pdf_content(attachment: Attachment) -> bytes:
    """The attachment's bytes, fetched from the provider on first use (``ContentUnavailable``
    when that fails); PreviewUnavailable when it is not a PDF."""
    attachment_content_ensure(attachment=attachment)
    with attachment.content.open("rb") as content:
        data = content.read()
    if not is_pdf(media_type(attachment), data[:1024]):
        raise PreviewUnavailable("Only PDF attachments have a preview.")
    return data


def _opened(data: bytes) -> pdfium.PdfDocument:
    if len(data) > MAX_BYTES:
        raise PreviewUnavailable("The PDF is too large to preview; download it.")
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PreviewUnavailable("The PDF cannot be read (damaged or password-protected).") from exc


def pdf_page_count(data: bytes) -> int:
    with _PDFIUM:
        document = _opened(data)
        try:
            pages = len(document)
        finally:
            document.close()
    if not pages:
        raise PreviewUnavailable("The PDF has no pages.")
    return pages


def pdf_page_picture(data: bytes, page: int = 1) -> tuple[bytes, int]:
    """Page ``page`` (from 1) as a PNG, PREVIEW_WIDTH wide at most, and the number of pages."""
    with _PDFIUM:
        document = _opened(data)
        try:
            pages = len(document)
            if not 1 <= page <= pages:
                raise PageOutOfRange(pages)
            pdf_page = document[page - 1]
            try:
                width, height = pdf_page.get_size()
                scale = PREVIEW_WIDTH / max(width, 1.0)
                # 1% to spare: the bitmap's sides are rounded up to whole pixels.
                scale = min(scale, (0.99 * MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
                image = pdf_page.render(scale=scale).to_pil()
            except pdfium.PdfiumError as exc:
                raise PreviewUnavailable("This page of the PDF cannot be drawn.") from exc
            finally:
                pdf_page.close()
        finally:
            document.close()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), pages
