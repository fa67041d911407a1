"""A message's body as the API and the web UI show it: sanitized, inline images resolved.

``message_safe_html`` is the one place a body becomes HTML for a reader: the stored HTML through
``integrations.mail.sanitize`` (or the plain text, escaped), with each ``cid:`` reference pointing
at the attachment endpoint through a link signed for this reader (``attachment_links``), since
the sandboxed frame that shows it sends no cookie.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from crm.models import User
from integrations.mail.attachment_links import attachment_link_token
from integrations.mail.models import Attachment
from integrations.mail.sanitize import SafeHtml, html_sanitize, text_to_html
from integrations.mail.selectors_reading import MessageReading


def attachment_path(*, message_id: int, attachment_id: int) -> str:
    return reverse(
        "email-message-attachment", kwargs={"pk": message_id, "attachmentId": attachment_id}
    )


def attachments_prefix(request: HttpRequest, *, message_id: int) -> str:
    """The absolute URL every attachment of the message starts with (for a CSP source)."""
    path = attachment_path(message_id=message_id, attachment_id=0)
    return request.build_absolute_uri(path[: path.rindex("/") + 1])


def attachment_url(request: HttpRequest, attachment: Attachment) -> str:
    """Where the attachment streams from, for a client that authenticates itself."""
    path = attachment_path(message_id=attachment.message_id, attachment_id=attachment.pk)
    return request.build_absolute_uri(path)


def attachment_link(request: HttpRequest, attachment: Attachment, *, user: User) -> str:
    """The attachment's URL signed for ``user``: works without a cookie (``<img>`` in the
    sandboxed frame) for a few hours, and only while ``user`` may see the message."""
    token = attachment_link_token(
        organization_id=attachment.organization_id,
        user_id=int(user.pk),
        message_id=attachment.message_id,
        attachment_id=int(attachment.pk),
    )
    return f"{attachment_url(request, attachment)}?{urlencode({'sig': token})}"


def message_safe_html(
    request: HttpRequest, reading: MessageReading, *, user: User, show_images: bool
) -> SafeHtml | None:
    """The body as safe HTML (the text body escaped when there is no HTML), or None when the
    reader may not see the content or the message has no body."""
    if not reading.shows_content:
        return None
    message = reading.message
    if not message.html_body:
        if not message.text_body:
            return None
        return SafeHtml(html=text_to_html(message.text_body), remote_images=0, images_shown=False)
    cid_urls = {
        a.content_id: attachment_link(request, a, user=user)
        for a in reading.attachments
        if a.content_id
    }
    return html_sanitize(message.html_body, cid_urls=cid_urls, show_images=show_images)
