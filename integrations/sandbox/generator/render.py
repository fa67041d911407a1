"""One generated message: its parts decided by the mailbox builder, rendered to RFC 5322 bytes."""

from __future__ import annotations

import html
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from integrations.sandbox.generator import mime
from integrations.sandbox.generator.models import Person
from integrations.sandbox.generator.words import html_from_text

# Offsets senders write their Date header in; the internal date stays UTC.
ZONES = tuple(timezone(timedelta(minutes=m)) for m in (0, -300, -480, 60, 120, 330, -180, 540))
LOGO_COLOURS = ((27, 94, 171), (200, 70, 40), (30, 140, 90), (120, 60, 160), (220, 160, 20))


@dataclass
class Attachment:
    data: bytes
    content_type: str
    filename: str


@dataclass
class Draft:
    """A message before rendering; ``text``/``html`` are the sender's own words plus quotes."""

    sender: Person
    to: Sequence[Person]
    subject: str
    date: datetime  # aware UTC
    text: str
    html: str | None = None  # None: text/plain only
    html_only: bool = False
    cc: Sequence[Person] = ()
    message_id: str | None = None
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    attachments: Sequence[Attachment] = ()
    inline_image: bool = False
    extra_headers: Sequence[str] = ()
    date_header: str | None = None  # overrides the Date header (the malformed-date oddity)
    delivered_to: str | None = None
    zone: timezone = ZONES[0]
    encoding_roll: float = field(default=0.0)


def gmail_quote_date(moment: datetime) -> str:
    """Gmail's attribution date: "Tue, Mar 3, 2026 at 10:14 AM"."""
    hour = moment.hour % 12 or 12
    return f"{moment:%a, %b} {moment.day}, {moment.year} at {hour}:{moment:%M %p}"


def quote_text(prev: Draft) -> str:
    when = gmail_quote_date(prev.date.astimezone(prev.zone))
    lines = "\n".join(f"> {line}" if line else ">" for line in prev.text.split("\n"))
    return f"\n\nOn {when}, {prev.sender.name} <{prev.sender.email}> wrote:\n{lines}"


def quote_html(prev: Draft) -> str:
    when = gmail_quote_date(prev.date.astimezone(prev.zone))
    who = html.escape(f"{prev.sender.name} <{prev.sender.email}>")
    quoted = prev.html if prev.html is not None else html_from_text(prev.text)
    return (
        '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
        f"On {when}, {who} wrote:<br></div>"
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;'
        f'border-left:1px solid rgb(204,204,204);padding-left:1ex">{quoted}'
        "</blockquote></div>"
    )


def _encodings(draft: Draft) -> tuple[str | None, str]:
    """Transfer encodings for the text and HTML parts, varied the way real mailers vary."""
    roll = draft.encoding_roll
    if draft.text.isascii():
        text_encoding = None if roll < 0.6 else "quoted-printable"
    else:
        text_encoding = "quoted-printable" if roll < 0.7 else "base64"
    html_encoding = "base64" if roll > 0.7 else "quoted-printable"
    return text_encoding, html_encoding


def render(draft: Draft, rng: random.Random) -> bytes:
    headers = []
    if draft.delivered_to:
        headers.append(f"Delivered-To: {draft.delivered_to}")
    date_value = draft.date_header or format_datetime(draft.date.astimezone(draft.zone))
    headers.append(f"Date: {date_value}")
    headers.append(f"From: {mime.address(draft.sender.name, draft.sender.email)}")
    headers.append(mime.fold_list("To", [mime.address(p.name, p.email) for p in draft.to]))
    if draft.cc:
        headers.append(mime.fold_list("Cc", [mime.address(p.name, p.email) for p in draft.cc]))
    headers.append(mime.fold_text("Subject", draft.subject))
    if draft.message_id:
        headers.append(f"Message-ID: {draft.message_id}")
    if draft.in_reply_to:
        headers.append(f"In-Reply-To: {draft.in_reply_to}")
    if draft.references:
        headers.append(mime.fold_list("References", list(draft.references), sep=""))
    headers.extend(draft.extra_headers)
    return mime.message(headers, _entity(draft, rng))


def _boundary(rng: random.Random) -> str:
    return f"000000000000{rng.getrandbits(48):012x}"  # Gmail's boundary shape


def _entity(draft: Draft, rng: random.Random) -> str:
    text_encoding, html_encoding = _encodings(draft)
    body: str
    if draft.html is None:
        body = mime.text_part(draft.text, "plain", text_encoding)
    else:
        html_body = draft.html
        image_part = None
        if draft.inline_image:
            # An inline signature logo: multipart/related with a Content-ID the HTML cites.
            if rng.random() < 0.5:
                cid = f"ii_{rng.getrandbits(40):010x}"
            else:
                cid = f"image001.png@01DA{rng.getrandbits(32):08X}.{rng.getrandbits(32):08X}"
            png = mime.make_png(48, 24, rng.choice(LOGO_COLOURS))
            html_body += f'<div><img src="cid:{cid}" alt="logo.png" width="48" height="24"></div>'
            image_part = mime.binary_part(png, "image/png", "logo.png", inline=True, content_id=cid)
        html_part = mime.text_part(html_body, "html", html_encoding)
        if image_part:
            html_part = mime.multipart("related", [html_part, image_part], _boundary(rng))
        if draft.html_only:
            body = html_part
        else:
            text = mime.text_part(draft.text, "plain", text_encoding)
            body = mime.multipart("alternative", [text, html_part], _boundary(rng))
    if draft.attachments:
        parts = [body] + [
            mime.binary_part(a.data, a.content_type, a.filename) for a in draft.attachments
        ]
        body = mime.multipart("mixed", parts, _boundary(rng))
    return body
