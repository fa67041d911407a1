"""The web side of reading an e-mail: a message page, and the body as a sandboxed document.

The body never shares a document with Liaison's pages. ``message_body`` answers it as a page of
its own, meant for ``<iframe sandbox="allow-popups allow-popups-to-escape-sandbox">`` (the
partial ``mail/_message_body.html``), under a Content-Security-Policy that allows no script,
no form, no plugin and images only from this message's attachments, plus remote ones once the
reader clicks "Show images" (``?images=1``). The HTML itself is sanitized first
(``integrations.mail.sanitize``); each defence holds if the other fails.

Other pages (the inbox's thread view) include the partial with ``message_frame(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin

from crm.web.access import acting_user, is_htmx, member_required
from integrations.mail.content import (
    ContentUnavailable,
    message_body_ensure,
)
from integrations.mail.previews import PreviewUnavailable, pdf_content, pdf_page_count
from integrations.mail.reading_html import (
    attachment_url,
    attachments_prefix,
    message_safe_html,
)
from integrations.mail.selectors_reading import (
    MessageReading,
    attachment_for_reader,
    message_for_reader,
)

BODY_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
CONTENT_STATUS = {"ProviderThrottled": 503, "ProviderUnavailable": 503, "ConnectionExpired": 409}


@dataclass(frozen=True)
class MessageFrame:
    """What ``mail/_message_body.html`` needs to show one message's body."""

    message_id: int
    src: str  # the sandboxed body document
    show_images_url: str  # re-renders the partial with remote images allowed
    remote_images: int
    images_shown: bool
    sandbox: str = BODY_SANDBOX


def _show_images(request: HttpRequest) -> bool:
    return request.GET.get("images") in ("1", "true")


def message_frame(request: HttpRequest, reading: MessageReading, *, images: bool) -> MessageFrame:
    """The body frame of a message whose content the person may see."""
    message_id = reading.message.pk
    body = message_safe_html(request, reading, user=acting_user(request), show_images=images)
    src = reverse("mail-message-body", args=[message_id])
    return MessageFrame(
        message_id=message_id,
        src=f"{src}?images=1" if images else src,
        show_images_url=f"{reverse('mail-message', args=[message_id])}?images=1",
        remote_images=body.remote_images if body else 0,
        images_shown=images,
    )


def _readable(request: HttpRequest, pk: int) -> MessageReading:
    reading = message_for_reader(user=acting_user(request), message_id=pk)
    if reading is None:
        raise Http404("No such message")
    return reading


def _with_body(reading: MessageReading) -> ContentUnavailable | None:
    """Fetch a body not stored yet; the failure, if any, to show instead."""
    try:
        message_body_ensure(message=reading.message)
    except ContentUnavailable as exc:
        return exc
    return None


@member_required
def message_page(request: HttpRequest, pk: int) -> HttpResponse:
    """One message: who, when, attachments and the body frame. An htmx request (the "Show
    images" button) gets the body partial alone."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    reading = _readable(request, pk)
    problem = _with_body(reading) if reading.shows_content else None
    images = _show_images(request)
    frame = message_frame(request, reading, images=images) if reading.shows_content else None
    if is_htmx(request) and frame is not None:
        return render(request, "mail/_message_body.html", {"frame": frame})
    context = {
        "reading": reading,
        "message": reading.message,
        "frame": None if problem else frame,
        "problem": problem,
        "attachments": [(a, attachment_url(request, a)) for a in reading.attachments],
        "active_nav": "inbox",
    }
    return render(request, "mail/message.html", context)


def body_csp(request: HttpRequest, *, message_id: int, images: bool) -> str:
    """No script, form, plugin, font or frame; images from the message's attachments (and the
    web, once the reader asked); inline styles; framed only by Liaison's own pages."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(request.build_absolute_uri("/")))
    sources = [attachments_prefix(request, message_id=message_id)]
    if images:
        sources += ["https:", "http:"]
    return "; ".join(
        [
            "default-src 'none'",
            f"img-src {' '.join(sources)}",
            "style-src 'unsafe-inline'",
            f"frame-ancestors 'self' {origin}",
            "form-action 'none'",
            "base-uri 'none'",
            f"sandbox {BODY_SANDBOX}",
        ]
    )


@member_required
@xframe_options_sameorigin
def message_body(request: HttpRequest, pk: int) -> HttpResponse:
    """The sanitized body as a standalone document for the sandboxed iframe."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    reading = _readable(request, pk)
    if not reading.shows_content:
        raise Http404("The content of this e-mail is not shared with you")
    images = _show_images(request)
    problem = _with_body(reading)
    body = None
    if problem is None:
        body = message_safe_html(request, reading, user=acting_user(request), show_images=images)
    response = render(
        request,
        "mail/message_body_document.html",
        {"body": body, "problem": problem},
        status=CONTENT_STATUS.get(problem.code, 404) if problem else 200,
    )
    response["Content-Security-Policy"] = body_csp(request, message_id=pk, images=images)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-cache"
    return response


# A preview page shows this many pages at most; the rest is in the download.
PREVIEW_PAGES = 100


@member_required
def attachment_preview(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    """A PDF attachment read in the page: each page a picture (drawn by the API's preview
    endpoint as the reader scrolls to it), with the download beside it."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    found = attachment_for_reader(
        user=acting_user(request), message_id=pk, attachment_id=attachment_id
    )
    if found is None:
        raise Http404("No such attachment")
    reading, attachment = found
    problem, pages = "", 0
    try:
        pages = pdf_page_count(pdf_content(attachment))
    except (ContentUnavailable, PreviewUnavailable) as exc:
        problem = str(exc)
    url = attachment_url(request, attachment)
    context = {
        "reading": reading,
        "attachment": attachment,
        "problem": problem,
        "pages": pages,
        "page_urls": [f"{url}/preview?page={n}" for n in range(1, min(pages, PREVIEW_PAGES) + 1)],
        "download_url": f"{url}?download=1",
        "active_nav": "inbox",
    }
    return render(request, "mail/attachment_preview.html", context)


urlpatterns = [
    path("<int:pk>/", message_page, name="mail-message"),
    path(
        "<int:pk>/attachments/<int:attachment_id>/preview/",
        attachment_preview,
        name="mail-attachment-preview",
    ),
    path("<int:pk>/body/", message_body, name="mail-message-body"),
]
