"""A Gmail ``messages.get(format="full")`` resource as a RemoteMessage.

The payload is Gmail's parse of the source: a tree of parts (``partId`` "" for the root, "0",
"1.0"... below), each with its headers, ``mimeType``, ``filename`` and a ``body`` holding either
``data`` (transfer-decoded bytes, base64url, in the part's own charset) or an ``attachmentId``.
The first usable text/plain and text/html leaves are the bodies; every other leaf is kept as a
RemoteAttachment, including text parts whose charset is unknown or whose bytes don't decode, so
nothing a sender put in a message is dropped.

This runs once per fetched message, so it reads only the headers it needs and decodes only the
two body parts; everything else is passed on as Gmail gave it.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from datetime import UTC, datetime
from typing import Any

from integrations.providers.mail import RemoteAttachment, RemoteMessage
from integrations.providers.mime import (
    decode_payload,
    decode_words,
    message_ids,
    parse_addresses,
    parse_date,
    snippet_of,
)

_TOP_HEADERS = frozenset(
    {
        "subject",
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "date",
        "message-id",
        "in-reply-to",
        "references",
    }
)
_PART_HEADERS = frozenset({"content-type", "content-disposition", "content-id"})
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_EPOCH = datetime.fromtimestamp(0, UTC)


def b64url_bytes(data: str) -> bytes:
    """Gmail's base64url (padding optional; Gmail pads, proto3 JSON readers may not)."""
    try:
        return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def _headers(part: dict[str, Any], wanted: frozenset[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for header in part.get("headers") or ():
        name = str(header.get("name") or "").lower()
        if name in wanted:
            found.setdefault(name, []).append(str(header.get("value") or ""))
    return found


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def charset_of(content_type: str | None) -> str | None:
    found = _CHARSET.search(content_type or "")
    return found.group(1).strip().lower() if found else None


def _message_id(value: str | None) -> str:
    found = message_ids(value)
    if found:
        return found[0]
    # Old mailers write ids without angle brackets; keep them in the "<id@host>" form.
    bare = (value or "").strip().split()
    return f"<{bare[0]}>" if bare and "@" in bare[0] else ""


class _Parts:
    """The depth-first walk that picks the bodies and collects every other leaf."""

    def __init__(self) -> None:
        self.text: str | None = None
        self.html: str | None = None
        self.attachments: list[RemoteAttachment] = []

    def visit(self, part: dict[str, Any]) -> None:
        mime_type = str(part.get("mimeType") or "application/octet-stream").lower()
        children = part.get("parts")
        # An attached message is one attachment, fetched whole, even if Gmail expands it.
        if children and mime_type != "message/rfc822":
            for child in children:
                self.visit(child)
            return
        body = part.get("body") or {}
        data = body.get("data")
        attachment_id = body.get("attachmentId") or ""
        if mime_type.startswith("multipart/") and not data and not attachment_id:
            return  # an empty container: nothing in it to keep
        headers = _headers(part, _PART_HEADERS)
        disposition = (_first(headers, "content-disposition") or "").strip().lower()
        filename = str(part.get("filename") or "")
        raw = b64url_bytes(data) if data else b""
        if (
            mime_type in _BODY_TYPES
            and not attachment_id
            and not filename
            and not disposition.startswith("attachment")
            and self._take_body(mime_type, raw, charset_of(_first(headers, "content-type")))
        ):
            return
        content_id = (_first(headers, "content-id") or "").strip().strip("<>").strip()
        self.attachments.append(
            RemoteAttachment(
                filename=filename,
                content_type=mime_type,
                size=int(body.get("size") or len(raw)),
                provider_attachment_id=attachment_id,
                part_id=str(part.get("partId") or ""),
                content_id=content_id,
                is_inline=disposition.startswith("inline")
                or (not disposition and bool(content_id)),
                data=None if attachment_id else raw,
            )
        )

    def _take_body(self, mime_type: str, raw: bytes, charset: str | None) -> bool:
        """Use this leaf as the text or HTML body if that slot is free and the bytes decode."""
        if (self.text if mime_type == "text/plain" else self.html) is not None:
            return False
        decoded = decode_payload(raw, charset) if charset else _undeclared(raw)
        if decoded is None:
            return False
        if mime_type == "text/plain":
            self.text = decoded
        else:
            self.html = decoded
        return True


def _undeclared(raw: bytes) -> str:
    # No charset parameter: RFC 2045 says US-ASCII, mail in the wild means UTF-8 or Latin-1.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _received_at(resource: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(resource.get("internalDate") or 0) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return _EPOCH


def message_from_resource(resource: dict[str, Any]) -> RemoteMessage:
    """Normalize one ``format=full`` message resource."""
    payload = resource.get("payload") or {}
    headers = _headers(payload, _TOP_HEADERS)
    parts = _Parts()
    parts.visit(payload)
    received_at = _received_at(resource)
    senders = parse_addresses(*headers.get("from", ()))
    text, markup = parts.text or "", parts.html or ""
    snippet = resource.get("snippet")
    labels = tuple(resource.get("labelIds") or ())
    return RemoteMessage(
        provider_id=str(resource["id"]),
        provider_thread_id=str(resource.get("threadId") or ""),
        rfc_message_id=_message_id(_first(headers, "message-id")),
        subject=decode_words(_first(headers, "subject")),
        sent_at=parse_date(_first(headers, "date"), received_at),
        received_at=received_at,
        sender=senders[0] if senders else None,
        to=parse_addresses(*headers.get("to", ())),
        cc=parse_addresses(*headers.get("cc", ())),
        bcc=parse_addresses(*headers.get("bcc", ())),
        reply_to=parse_addresses(*headers.get("reply-to", ())),
        in_reply_to=_message_id(_first(headers, "in-reply-to")),
        references=message_ids(" ".join(headers.get("references", ()))),
        text_body=text,
        html_body=markup,
        # Gmail's snippet is HTML-escaped ("&#39;", "&amp;").
        snippet=html.unescape(snippet) if snippet else snippet_of(text, markup),
        size=int(resource.get("sizeEstimate") or 0),
        folder_ids=labels,
        is_read="UNREAD" not in labels,
        is_starred="STARRED" in labels,
        attachments=tuple(parts.attachments),
    )
