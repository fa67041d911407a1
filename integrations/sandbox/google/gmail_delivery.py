"""Mail moving between sandbox mailboxes: sending, delivery to recipients, generated mailboxes.

What ``messages.send`` does in Gmail, kept here: the sender's copy gets SENT (and INBOX/UNREAD
when the sender is also a recipient), a missing ``From``, ``Date`` or ``Message-ID`` is added and a
``From`` that is not the sender's address is rewritten to it; every recipient (To, Cc, Bcc) who
is a sandbox user receives a copy *without* the ``Bcc`` header, with ``Delivered-To`` and
``Received`` prepended, labelled INBOX, UNREAD, CATEGORY_PERSONAL and threaded in their own
mailbox by ``References``/``In-Reply-To`` and subject. Recipients outside the sandbox are
accepted and dropped, as if delivered elsewhere.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from datetime import datetime
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from integrations.sandbox.google.gmail_mime import parse_envelope
from integrations.sandbox.google.gmail_store import Mailbox, StoredMessage
from integrations.sandbox.google.state import GoogleState, GoogleUser

INBOUND_LABELS = ["INBOX", "UNREAD", "CATEGORY_PERSONAL"]
FOLDER_LABELS = {
    "inbox": ["INBOX"],
    "sent": ["SENT"],
    "archive": [],
    "spam": ["SPAM"],
    "trash": ["TRASH"],
    "drafts": ["DRAFT"],
}
_HEADER_END = re.compile(rb"\r?\n\r?\n")


class DeliveryError(ValueError):
    """A message Gmail would refuse to send; the text is Gmail's."""


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """(header block, separator, body) of an RFC 5322 message."""
    found = _HEADER_END.search(raw)
    if not found:
        return raw, b"", b""
    return raw[: found.start()], raw[found.start() : found.end()], raw[found.end() :]


def _newline(raw: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in raw[:2000] or b"\n" not in raw[:2000] else b"\n"


def header_lines(head: bytes, newline: bytes) -> list[bytes]:
    """Header fields, each with its folded continuation lines kept together."""
    fields: list[bytes] = []
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += newline + line
        elif line:
            fields.append(line)
    return fields


def edit_headers(
    raw: bytes,
    *,
    drop: Collection[str] = (),
    replace: dict[str, str] | None = None,
    prepend: list[str] | None = None,
    append: dict[str, str] | None = None,
) -> bytes:
    """Rewrite the header block: drop fields, replace values, add missing fields."""
    newline = _newline(raw)
    head, separator, body = _split(raw)
    replace = replace or {}
    seen: set[str] = set()
    fields = []
    for field in header_lines(head, newline):
        name = field.split(b":", 1)[0].strip().decode("latin-1").lower()
        seen.add(name)
        if name in drop:
            continue
        if name in replace:
            field = f"{field.split(b':', 1)[0].decode('latin-1')}: {replace[name]}".encode()
        fields.append(field)
    for name, value in (append or {}).items():
        if name.lower() not in seen:
            fields.append(f"{name}: {value}".encode())
    fields = [line.encode() for line in (prepend or [])] + fields
    return newline.join(fields) + (separator or newline * 2) + body


def prepare_outgoing(raw: bytes, sender: GoogleUser, now: datetime) -> bytes:
    """The message as Gmail sends it: From forced to the sender, Date and Message-ID present."""
    display, address = parseaddr(parse_envelope(raw).sender)
    replace = {}
    if address and address.lower() != sender.email:
        replace["from"] = formataddr((display or sender.name, sender.email))
    return edit_headers(
        raw,
        replace=replace,
        append={
            "From": formataddr((sender.name, sender.email)),
            "Date": format_datetime(now),
            "Message-ID": f"<{secrets.token_hex(16)}@mail.gmail.com>",
        },
    )


def send_message(
    state: GoogleState, sender: GoogleUser, raw: bytes, requested_thread: str | None, now: datetime
) -> StoredMessage:
    raw = prepare_outgoing(raw, sender, now)
    recipients = parse_envelope(raw).recipients()
    if not recipients:
        raise DeliveryError("Recipient address required")
    stamp = now.timestamp()
    internal = int(stamp * 1000)
    labels = ["SENT"] + (["INBOX", "UNREAD"] if sender.email in recipients else [])
    sent = sender.mailbox.add(raw, labels, internal, stamp, requested_thread=requested_thread)
    delivered = edit_headers(raw, drop={"bcc"})
    for address in recipients:
        recipient = state.user(address)
        if recipient is None or recipient.email == sender.email:
            continue
        copy = edit_headers(
            delivered,
            prepend=[
                f"Delivered-To: {recipient.email}",
                f"Received: by 10.0.0.1 with SMTP id {secrets.token_hex(8)};"
                f" {format_datetime(now)}",
            ],
        )
        recipient.mailbox.add(copy, INBOUND_LABELS, internal, stamp)
    return sent


def mail_item_labels(item: Any) -> list[str]:
    """Gmail labels for a generated ``MailItem`` (folder, category, unread, starred)."""
    labels = list(FOLDER_LABELS.get(item.folder, []))
    if item.folder not in ("sent", "drafts"):
        # Gmail files all incoming mail under a category tab; "Primary" is CATEGORY_PERSONAL.
        labels.append(f"CATEGORY_{(item.category or 'personal').upper()}")
    if item.unread:
        labels.append("UNREAD")
    if item.starred:
        labels.append("STARRED")
    return labels


def fill_mailbox(mailbox: Mailbox, items: list[Any], now: float) -> int:
    """Store generated mail oldest first, one thread per ``thread_key``; the number stored.

    Filling again with the same seed stores nothing twice: a message whose exact source is
    already in the mailbox is skipped.
    """
    present = {message.raw for message in mailbox.messages.values()}
    threads: dict[str, str] = {}
    stored = 0
    for item in sorted(items, key=lambda i: i.received_at):
        if item.raw in present:
            continue
        internal = int(item.received_at.timestamp() * 1000)
        message = mailbox.add(
            item.raw, mail_item_labels(item), internal, now, thread_id=threads.get(item.thread_key)
        )
        threads.setdefault(item.thread_key, message.thread_id)
        stored += 1
    return stored
