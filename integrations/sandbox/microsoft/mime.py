"""Parse a stored RFC 5322 message once into what Graph's message JSON is made of.

Exchange keeps MIME and derives the item's properties from it; the sandbox does the same, and
caches the result on the stored message so every later read is a dictionary lookup.
"""

from __future__ import annotations

import email
import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

_WS = re.compile(r"\s+")
_MSGID = re.compile(r"<[^<>\s]+>")
_FOLD = re.compile(r"\r?\n[ \t]+")


@dataclass(frozen=True)
class ParsedAttachment:
    index: int
    name: str
    content_type: str
    content: bytes
    content_id: str | None
    is_inline: bool
    is_item: bool  # an attached message (message/rfc822): Graph's itemAttachment


@dataclass(frozen=True)
class ParsedMail:
    headers: tuple[tuple[str, str], ...]
    subject: str
    from_: tuple[tuple[str, str], ...]
    sender: tuple[tuple[str, str], ...]
    to: tuple[tuple[str, str], ...]
    cc: tuple[tuple[str, str], ...]
    bcc: tuple[tuple[str, str], ...]
    reply_to: tuple[tuple[str, str], ...]
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    date: datetime | None
    body_html: str | None
    body_text: str | None
    attachments: tuple[ParsedAttachment, ...]
    importance: str
    read_receipt: bool
    preview: str

    @property
    def thread_root(self) -> str:
        """The first message of the conversation as far as the headers tell."""
        if self.references:
            return self.references[0]
        return self.in_reply_to or self.message_id or self.subject

    @property
    def has_attachments(self) -> bool:
        # Graph's hasAttachments ignores inline attachments (images in the HTML body).
        return any(not a.is_inline for a in self.attachments)


def _unfold(value: str) -> str:
    return _FOLD.sub(" ", value).strip()


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded; text that does not decode is kept as it stands."""
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
        return value


def _header_text(message: Message, name: str) -> str | None:
    value = message.get(name)
    if value is None:
        return None
    return decode_words(_unfold(str(value)))


def _addresses(message: Message, name: str) -> tuple[tuple[str, str], ...]:
    values = [_unfold(str(v)) for v in message.get_all(name) or []]
    return tuple(
        (decode_words(display), addr)
        for display, addr in getaddresses(values)
        if addr and "@" in addr
    )


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _walk_bodies(message: Message) -> tuple[str | None, str | None, list[ParsedAttachment]]:
    body_html: str | None = None
    body_text: str | None = None
    attachments: list[ParsedAttachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        raw_name = part.get_filename()
        filename = decode_words(raw_name) if raw_name else None
        content_id = part.get("Content-ID")
        is_body_text = (
            content_type in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
        )
        if is_body_text:
            if content_type == "text/html" and body_html is None:
                body_html = _decoded_text(part)
                continue
            if content_type == "text/plain" and body_text is None:
                body_text = _decoded_text(part)
                continue
        data: bytes = b""
        if content_type == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                data = inner[0].as_bytes()
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        cid = content_id.strip().strip("<>") if content_id else None
        attachments.append(
            ParsedAttachment(
                index=len(attachments),
                name=filename or (cid or f"attachment{len(attachments) + 1}"),
                content_type=content_type,
                content=data,
                content_id=cid,
                is_inline=disposition == "inline" or (disposition == "" and cid is not None),
                is_item=content_type == "message/rfc822",
            )
        )
    return body_html, body_text, attachments


def _importance(message: Message) -> str:
    value = (message.get("Importance") or "").strip().lower()
    if value in ("high", "low"):
        return value
    priority = (message.get("X-Priority") or "").strip()[:1]
    if priority in ("1", "2"):
        return "high"
    if priority in ("4", "5"):
        return "low"
    return "normal"


def parse_mail(raw: bytes) -> ParsedMail:
    # compat32 parses several times faster than email.policy.default's header registry; the
    # few decoded values Graph needs are decoded explicitly.
    message = email.message_from_bytes(raw)
    headers = tuple((name, _unfold(str(value))) for name, value in message.items())
    date_text = message.get("Date")
    try:
        date = parsedate_to_datetime(str(date_text)).astimezone(UTC) if date_text else None
    except (TypeError, ValueError, IndexError):
        date = None
    body_html, body_text, attachments = _walk_bodies(message)
    preview_source = body_text if body_text is not None else html_to_text(body_html or "")
    from_ = _addresses(message, "From")
    return ParsedMail(
        headers=headers,
        subject=_header_text(message, "Subject") or "",
        from_=from_,
        sender=_addresses(message, "Sender") or from_,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        bcc=_addresses(message, "Bcc"),
        reply_to=_addresses(message, "Reply-To"),
        message_id=_first_msgid(_header_text(message, "Message-ID")),
        in_reply_to=_first_msgid(_header_text(message, "In-Reply-To")),
        references=tuple(_MSGID.findall(_header_text(message, "References") or "")),
        date=date,
        body_html=body_html,
        body_text=body_text,
        attachments=tuple(attachments),
        importance=_importance(message),
        read_receipt=message.get("Disposition-Notification-To") is not None,
        preview=_WS.sub(" ", preview_source).strip()[:255],
    )


def _first_msgid(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    return found.group(0) if found else value.strip() or None


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
    _SKIP = {"style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in ("p", "div", "tr", "table"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Roughly what Exchange gives for ``Prefer: outlook.body-content-type="text"``."""
    if not markup:
        return ""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = [_WS.sub(" ", line).strip() for line in "".join(extractor.parts).split("\n")]
    text = "\r\n".join(lines)
    return re.sub(r"(\r\n){3,}", "\r\n\r\n", text).strip()


def text_to_html(text: str) -> str:
    """Exchange's plain-text-to-HTML conversion (``Prefer: outlook.body-content-type="html"``)."""
    escaped = html.escape(text).replace("\r\n", "\n").replace("\n", "<br>\r\n")
    return (
        '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; '
        'charset=utf-8">\r\n</head>\r\n<body>\r\n<div class="PlainText">'
        f"{escaped}</div>\r\n</body>\r\n</html>\r\n"
    )


def conversation_index(root: str, date: datetime | None, depth: int) -> str:
    """A Thread-Index-shaped value: 22-byte header from the root, 5 bytes per reply level."""
    import base64

    digest = hashlib.sha256(root.encode()).digest()
    stamp = int(((date or datetime(2020, 1, 1, tzinfo=UTC)).timestamp() + 11644473600) * 10**7)
    header = b"\x01" + ((stamp >> 16) & 0xFF_FFFF_FFFF).to_bytes(5, "big") + digest[:16]
    return base64.b64encode(header + b"\x00\x00\x00\x00\x01" * max(depth, 0)).decode()
