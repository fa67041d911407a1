"""Reading mail under /api/v1/integrations: a thread (seed 002 ``/email/thread/:threadId``), one
message with its body fetched on demand, and attachment streaming (seed 004).

What a person sees follows the mailboxes' visibility policies (``selectors_reading``); mail they
may not see at all, and another organization's, is a 404.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from crm.api.authentication import BearerTokenAuthentication, SessionAuthentication
from crm.api.base import TenantAPIView, acting_user
from crm.api.errors import ApiError, NotFoundError
from crm.models import Organization, User
from crm.selectors import membership_for
from integrations.mail.api import reading_serializers as s
from integrations.mail.attachment_links import AttachmentGrant, attachment_link_grant
from integrations.mail.content import (
    ContentUnavailable,
    attachment_content_ensure,
    media_type,
    message_body_ensure,
)
from integrations.mail.models import Attachment
from integrations.mail.previews import (
    PageOutOfRange,
    PreviewUnavailable,
    pdf_content,
    pdf_page_picture,
)
from integrations.mail.selectors_reading import (
    attachment_for_reader,
    message_for_reader,
    thread_for_reader,
)

TAGS = ["E-mail reading"]
IMAGES = OpenApiParameter(
    "images",
    bool,
    OpenApiParameter.QUERY,
    description="1 to let the HTML body load remote images (blocked by default).",
)
CONTENT_STATUS = {"ProviderThrottled": 503, "ProviderUnavailable": 503, "ConnectionExpired": 409}
# Images a browser may show inline; everything else (SVG and HTML included) downloads.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/avif"}
)
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+\-]")
ATTACHMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _show_images(request: Request) -> bool:
    return request.query_params.get("images") in ("1", "true")


@contextmanager
def _content_errors() -> Iterator[None]:
    """On-demand fetches that failed, as the API's error body."""
    try:
        yield
    except ContentUnavailable as exc:
        headers = {}
        if exc.code in ("ProviderThrottled", "ProviderUnavailable"):
            headers["Retry-After"] = str(max(1, int(exc.retry_after or 30)))
        raise ApiError(
            exc.message,
            code=exc.code,
            status_code=CONTENT_STATUS.get(exc.code, 404),
            headers=headers,
            # A connection found dead on the way is a fact to keep.
            keep_changes=exc.code == "ConnectionExpired",
        ) from exc


class ThreadView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        summary="All e-mails of a thread the reader may see",
        description=(
            "Messages in date order with participants (and their matched contacts and "
            "accounts), attachments, bodies (sanitized HTML and text), per-message unread and "
            "starred, and the thread's CRM links and tasks. Each mailbox's visibility policy "
            "applies per message: `metadata` hides subject and content, `subject` the content. "
            "A body not stored yet is `null` here; `GET /email/messages/{id}` fetches it."
        ),
        parameters=[IMAGES],
        responses={
            200: s.ReadingThreadSerializer,
            404: OpenApiResponse(description="No such thread"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        reading = thread_for_reader(user=user, thread_id=pk)
        if reading is None:
            raise NotFoundError("Thread")
        data = s.thread_data(request, reading, user=user, show_images=_show_images(request))
        return Response(s.ReadingThreadSerializer(data).data)


class MessageView(TenantAPIView):
    @extend_schema(
        tags=TAGS,
        summary="One e-mail in full",
        description=(
            "Recipients, attachments and the body. A body not stored yet is fetched from the "
            "provider now and kept (503 with Retry-After when the provider is throttling or "
            "down, 409 ConnectionExpired when the mailbox must be reconnected)."
        ),
        parameters=[IMAGES],
        responses={
            200: s.ReadingMessageSerializer,
            404: OpenApiResponse(description="No such message"),
            409: OpenApiResponse(description="The mailbox must be reconnected"),
            503: OpenApiResponse(description="The provider is throttling or unavailable"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        user = acting_user(request)
        reading = message_for_reader(user=user, message_id=pk)
        if reading is None:
            raise NotFoundError("Message")
        if reading.shows_content:
            with _content_errors():
                message_body_ensure(message=reading.message)
        data = s.message_data(request, reading, user=user, show_images=_show_images(request))
        return Response(s.ReadingMessageSerializer(data).data)


class AttachmentLinkAuthentication(BaseAuthentication):
    """``?sig=``: a link signed for one member and one attachment (``attachment_links``).

    Images in the sandboxed body frame arrive without the session cookie; this lets exactly
    the attachment the link names through, as the member it was made for, who must still be in
    the organization and may see the message (checked by the view as for anyone else).
    """

    def authenticate(self, request: Request) -> tuple[User, AttachmentGrant] | None:
        token = request.query_params.get("sig")
        if not token:
            return None
        grant = attachment_link_grant(token)
        kwargs = (request.parser_context or {}).get("kwargs") or {}
        if grant is None or (grant.message_id, grant.attachment_id) != (
            kwargs.get("pk"),
            kwargs.get("attachmentId"),
        ):
            raise exceptions.AuthenticationFailed("This attachment link is not valid any more.")
        user = User.objects.filter(pk=grant.user_id, is_active=True).first()
        organization = Organization.objects.filter(pk=grant.organization_id).first()
        membership = (
            membership_for(user=user, organization=organization)
            if user is not None and organization is not None
            else None
        )
        if user is None or membership is None:
            raise exceptions.AuthenticationFailed("This attachment link is not valid any more.")
        # TenantViewMixin takes the membership of a non-token request from the request.
        request._request.membership = membership  # type: ignore[attr-defined]
        return user, grant

    def authenticate_header(self, request: Request) -> str:
        return "Signature"


def attachment_filename(attachment: Attachment) -> str:
    """The stored name made harmless: no directories, control or bidi characters, leading
    dots; a name from the content type when nothing is left."""
    name = unicodedata.normalize("NFC", attachment.filename or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ")
    name = name.strip().lstrip(".").strip()[:200]
    if not name:
        extension = mimetypes.guess_extension(attachment.content_type) or ".bin"
        name = f"attachment{extension}"
    return name


def content_disposition(kind: str, filename: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and the exact name in ``filename*``."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = _ASCII_UNSAFE.sub("_", ascii_name).strip() or "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """The content is what it is whatever ``Accept`` says (``<img>`` asks for ``image/*``);
    errors still come as JSON."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class AttachmentView(TenantAPIView):
    content_negotiation_class = AnyAcceptNegotiation
    authentication_classes = [
        BearerTokenAuthentication,
        SessionAuthentication,
        AttachmentLinkAuthentication,
    ]

    @extend_schema(
        tags=TAGS,
        summary="Stream an attachment (inline CID images too)",
        description=(
            "The content with its type, fetched from the provider on first use and kept. Images "
            "a browser shows safely (PNG, JPEG, GIF, WebP, BMP, AVIF) are `inline` unless "
            "`download=1`; everything else is an `attachment` download. Always "
            "`X-Content-Type-Options: nosniff` and a sandboxing Content-Security-Policy. "
            "Authenticates like every endpoint, or with the `sig` of a signed link from a "
            "message's HTML body."
        ),
        parameters=[
            OpenApiParameter(
                "download", bool, OpenApiParameter.QUERY, description="1 to always download"
            ),
            OpenApiParameter(
                "sig", str, OpenApiParameter.QUERY, description="A signed link's signature"
            ),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            404: OpenApiResponse(description="No such message or attachment"),
            409: OpenApiResponse(description="The mailbox must be reconnected"),
            503: OpenApiResponse(description="The provider is throttling or unavailable"),
        },
    )
    def get(self, request: Request, pk: int, attachmentId: int) -> Any:
        found = attachment_for_reader(
            user=acting_user(request), message_id=pk, attachment_id=attachmentId
        )
        if found is None:
            raise NotFoundError("Attachment")
        _, attachment = found
        with _content_errors():
            attachment_content_ensure(attachment=attachment)
        content_type = media_type(attachment)
        inline = content_type in INLINE_TYPES and request.query_params.get("download") != "1"
        response = FileResponse(attachment.content.open("rb"), content_type=content_type)
        response["Content-Disposition"] = content_disposition(
            "inline" if inline else "attachment", attachment_filename(attachment)
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = ATTACHMENT_CSP
        response["Cache-Control"] = "private, max-age=3600"
        return response


class AttachmentPreviewQuerySerializer(serializers.Serializer):
    page = serializers.IntegerField(min_value=1, default=1)


class AttachmentPreviewView(TenantAPIView):
    content_negotiation_class = AnyAcceptNegotiation
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]

    @extend_schema(
        tags=TAGS,
        summary="A page of a PDF attachment as a picture",
        description=(
            "Page `page` (from 1) drawn as a PNG at most 1,000 pixels wide, for reading the "
            "document without downloading it; `X-Page-Count` gives the number of pages. The "
            "document is fetched from the provider on first use and kept, like the attachment "
            "itself. 400 when the attachment is not a PDF, cannot be read (damaged or "
            "password-protected) or has no such page."
        ),
        parameters=[AttachmentPreviewQuerySerializer],
        responses={
            (200, "image/png"): OpenApiTypes.BINARY,
            400: OpenApiResponse(description="Not a PDF, unreadable, or no such page"),
            404: OpenApiResponse(description="No such message or attachment"),
            409: OpenApiResponse(description="The mailbox must be reconnected"),
            503: OpenApiResponse(description="The provider is throttling or unavailable"),
        },
    )
    def get(self, request: Request, pk: int, attachmentId: int) -> Any:
        query = AttachmentPreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = attachment_for_reader(
            user=acting_user(request), message_id=pk, attachment_id=attachmentId
        )
        if found is None:
            raise NotFoundError("Attachment")
        try:
            with _content_errors():
                data = pdf_content(found[1])
            picture, pages = pdf_page_picture(data, query.validated_data["page"])
        except PageOutOfRange as exc:
            raise serializers.ValidationError({"page": [str(exc)]}) from exc
        except PreviewUnavailable as exc:
            raise serializers.ValidationError({"attachment": [str(exc)]}) from exc
        response = HttpResponse(picture, content_type="image/png")
        response["X-Page-Count"] = str(pages)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = ATTACHMENT_CSP
        response["Cache-Control"] = "private, max-age=3600"
        return response
