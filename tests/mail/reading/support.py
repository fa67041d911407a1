"""Mail with inline images and attachments, delivered to the sandbox and synced as in production.

``synced_mail`` delivers a two-message conversation to a Gmail or Microsoft 365 mailbox of the
sandbox (raw MIME through its control API), then runs the real sync engine in-process.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from crm.tenancy import tenant_context
from integrations.mail.models import Mailbox, Message, RunStatus
from integrations.mail.sync.engine import mailbox_sync
from integrations.mail.sync.lease import run_open
from tests.conftest import Tenant
from tests.connections.conftest import GOOGLE_USER, MICROSOFT_USER, Providers
from tests.sync.harness import google_mailbox, microsoft_mailbox

CUSTOMER = ("Ada Lovelace", "ada@acme.test")
LOGO_CID = "logo.1@acme.test"
SPACER_CID = "spacer.2@acme.test"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PDF_NAME = "Quote ‮fdp.exe 2027 €.pdf"  # a right-to-left override hiding ".exe"


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (220, 30, 30)) -> bytes:
    """A valid PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


LOGO = png()
SPACER = png(1, 1, (255, 255, 255))


def mime(
    *,
    subject: str,
    sender: tuple[str, str],
    to: tuple[str, str],
    html: str,
    text: str = "",
    when: datetime,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    inline_images: bool = True,
    attachment: tuple[str, str, bytes] | None = None,
) -> tuple[bytes, str]:
    """Raw MIME (multipart/related HTML with inline images, an attachment) and its Message-ID."""
    message = EmailMessage()
    message["From"] = f"{sender[0]} <{sender[1]}>"
    message["To"] = f"{to[0]} <{to[1]}>"
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message_id = message_id or make_msgid(domain="acme.test")
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text or "See the HTML version.")
    message.add_alternative(html, subtype="html")
    if inline_images:
        related = message.get_payload()[1]
        related.add_related(
            LOGO, "image", "png", cid=f"<{LOGO_CID}>", filename="logo.png", disposition="inline"
        )
        # No filename: Gmail sends small parts like this inside the message, not by id.
        related.add_related(SPACER, "image", "png", cid=f"<{SPACER_CID}>")
    if attachment is not None:
        name, content_type, data = attachment
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(data, maintype, subtype, filename=name)
    return bytes(message), message_id


@dataclass
class Conversation:
    mailbox: Mailbox
    first: Message  # from the customer: inline images and a PDF
    reply: Message  # the mailbox's answer, plain


def mailbox_of(provider: str, org: Tenant, providers: Providers, **fields: Any) -> Mailbox:
    fields.setdefault("sync_timeframe", "all")
    if provider == "google":
        return google_mailbox(org, providers.sandbox, GOOGLE_USER, **fields)
    return microsoft_mailbox(
        org, providers.sandbox, MICROSOFT_USER, providers.microsoft_tenant_id, **fields
    )


def deliver(provider: str, providers: Providers, raw: bytes, *, sent: bool = False) -> None:
    if provider == "google":
        labels = ["SENT"] if sent else ["INBOX", "UNREAD"]
        providers.sandbox.google.deliver(GOOGLE_USER, raw, label_ids=labels)
    else:
        providers.sandbox.microsoft.deliver(
            MICROSOFT_USER, raw, folder="sentitems" if sent else "inbox", is_read=sent
        )


def sync(org: Tenant, mailbox: Mailbox) -> None:
    with tenant_context(org.organization):
        run = run_open(mailbox=mailbox, trigger="manual")
        result = mailbox_sync(run_id=run.pk)
    assert result is not None and result.status == RunStatus.COMPLETED, result and result.error


FIRST_HTML = (
    f'<p>Hello, <img src="cid:{LOGO_CID}" alt="Acme"><img src="cid:{SPACER_CID}" alt=""></p>'
    '<p>Our quote is attached. <a href="https://acme.test/quote">Details</a></p>'
    '<img src="https://tracker.acme.test/open.gif?u=1" width="1" height="1">'
    "<script>alert('x')</script>"
)


def synced_conversation(provider: str, org: Tenant, providers: Providers) -> Conversation:
    """A customer's mail (inline images, a PDF) and the mailbox's reply, synced."""
    mailbox = mailbox_of(provider, org, providers)
    owner = (mailbox.display_name or "Owner", mailbox.address)
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    raw, first_id = mime(
        subject="Quote for 2027",
        sender=CUSTOMER,
        to=owner,
        html=FIRST_HTML,
        text="Hello, our quote is attached.",
        when=when,
        attachment=(PDF_NAME, "application/pdf", PDF),
    )
    deliver(provider, providers, raw)
    reply, _ = mime(
        subject="Re: Quote for 2027",
        sender=owner,
        to=CUSTOMER,
        html="<p>Thanks, <b>we accept</b>.</p>",
        text="Thanks, we accept.",
        when=when + timedelta(minutes=30),
        in_reply_to=first_id,
        inline_images=False,
    )
    deliver(provider, providers, reply, sent=True)
    sync(org, mailbox)
    with org.scope():
        first = Message.objects.get(rfc_message_id=first_id)
        second = Message.objects.exclude(pk=first.pk).get(thread=first.thread)
    return Conversation(mailbox=mailbox, first=first, reply=second)


def provider_calls(providers: Providers, since: int) -> list[dict[str, Any]]:
    """Calls that went over the wire to Google or Microsoft after ``since`` (inner requests of a
    batch and the sandbox's control API left out)."""
    return [
        entry
        for entry in providers.sandbox.requests_log(since=since)
        if entry["provider"] in ("google", "microsoft")
        and not entry.get("batch")
        and "oauth" not in (entry.get("route") or "")
        and "token" not in (entry.get("route") or "")
    ]
