"""Writing mail as Exchange does: RFC 5322 sources built from Graph message JSON, reply and
forward drafts with thread headers, and delivery to other sandbox mailboxes.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import Any

from integrations.sandbox.microsoft import mailstore
from integrations.sandbox.microsoft.graph_common import GraphError
from integrations.sandbox.microsoft.mime import ParsedMail, html_to_text
from integrations.sandbox.microsoft.records import StoredMessage, User
from integrations.sandbox.microsoft.state import MicrosoftState

Pair = tuple[str, str]


@dataclass
class Draft:
    """The editable content of a message, before it becomes MIME."""

    sender: Pair
    subject: str = ""
    body_type: str = "html"
    body: str = ""
    to: list[Pair] = field(default_factory=list)
    cc: list[Pair] = field(default_factory=list)
    bcc: list[Pair] = field(default_factory=list)
    reply_to: list[Pair] = field(default_factory=list)
    message_id: str = ""
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    importance: str = "normal"
    extra_headers: list[Pair] = field(default_factory=list)
    # (name, content type, bytes, content id, is inline)
    attachments: list[tuple[str, str, bytes, str | None, bool]] = field(default_factory=list)


def new_message_id(user: User) -> str:
    domain = user.upn.split("@", 1)[-1].replace(".", "")
    return f"<{secrets.token_hex(16).upper()}@{domain[:12].upper()}.prod.outlook.com>"


def recipients_from_json(value: Any, field_name: str) -> list[Pair]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise GraphError(400, "ErrorInvalidRecipients", f"Invalid value for {field_name}.")
    pairs: list[Pair] = []
    for item in value:
        address = ((item or {}).get("emailAddress") or {}) if isinstance(item, dict) else {}
        addr = str(address.get("address") or "").strip()
        if "@" not in addr:
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                "At least one recipient is not valid., Recipient "
                f"'{addr}' is not resolved. All recipients must be resolved before a "
                "message can be submitted.",
            )
        pairs.append((str(address.get("name") or ""), addr))
    return pairs


def apply_json(draft: Draft, data: dict[str, Any]) -> None:
    """Copy Graph message properties (as in sendMail or PATCH) onto a draft."""
    if "subject" in data:
        draft.subject = str(data["subject"] or "")
    body = data.get("body")
    if isinstance(body, dict):
        kind = str(body.get("contentType") or "text").lower()
        draft.body_type = "html" if kind == "html" else "text"
        draft.body = str(body.get("content") or "")
    for key, attr in (
        ("toRecipients", "to"),
        ("ccRecipients", "cc"),
        ("bccRecipients", "bcc"),
        ("replyTo", "reply_to"),
    ):
        if key in data:
            setattr(draft, attr, recipients_from_json(data[key], key))
    if data.get("importance") in ("low", "normal", "high"):
        draft.importance = data["importance"]
    for header in data.get("internetMessageHeaders") or []:
        name = str((header or {}).get("name") or "")
        if not name.lower().startswith("x-"):
            raise GraphError(
                400,
                "InvalidInternetMessageHeader",
                f"The internet message header name '{name}' should start with 'x-' or 'X-'.",
            )
        draft.extra_headers.append((name, str(header.get("value") or "")))
    for attachment in data.get("attachments") or []:
        draft.attachments.append(file_attachment_from_json(attachment))


def file_attachment_from_json(data: Any) -> tuple[str, str, bytes, str | None, bool]:
    if not isinstance(data, dict) or data.get("@odata.type", "").lower() not in (
        "#microsoft.graph.fileattachment",
        "microsoft.graph.fileattachment",
    ):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Only #microsoft.graph.fileAttachment attachments are supported.",
        )
    try:
        content = base64.b64decode(str(data.get("contentBytes") or ""), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GraphError(400, "ErrorInvalidRequest", "Invalid contentBytes.") from exc
    return (
        str(data.get("name") or "attachment"),
        str(data.get("contentType") or "application/octet-stream"),
        content,
        data.get("contentId"),
        bool(data.get("isInline", False)),
    )


def draft_from_parsed(parsed: ParsedMail, owner: Pair) -> Draft:
    draft = Draft(
        sender=parsed.from_[0] if parsed.from_ else owner,
        subject=parsed.subject,
        to=list(parsed.to),
        cc=list(parsed.cc),
        bcc=list(parsed.bcc),
        reply_to=list(parsed.reply_to),
        message_id=parsed.message_id or "",
        in_reply_to=parsed.in_reply_to,
        references=list(parsed.references),
        importance=parsed.importance,
    )
    if parsed.body_html is not None:
        draft.body_type, draft.body = "html", parsed.body_html
    else:
        draft.body_type, draft.body = "text", parsed.body_text or ""
    draft.attachments = [
        (a.name, a.content_type, a.content, a.content_id, a.is_inline)
        for a in parsed.attachments
        if not a.is_item
    ]
    return draft


def _format(pairs: list[Pair]) -> str:
    return ", ".join(formataddr((name, addr)) if name else addr for name, addr in pairs)


def build_mime(draft: Draft, date: datetime, *, include_bcc: bool) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr(draft.sender)
    if draft.to:
        message["To"] = _format(draft.to)
    if draft.cc:
        message["Cc"] = _format(draft.cc)
    if draft.bcc and include_bcc:
        message["Bcc"] = _format(draft.bcc)
    if draft.reply_to:
        message["Reply-To"] = _format(draft.reply_to)
    message["Subject"] = draft.subject
    message["Thread-Topic"] = (
        draft.subject.split(":", 1)[-1].strip() if draft.in_reply_to else draft.subject
    )
    message["Date"] = format_datetime(date)
    message["Message-ID"] = draft.message_id
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        message["References"] = " ".join(draft.references)
    if draft.importance != "normal":
        message["Importance"] = draft.importance
    for name, value in draft.extra_headers:
        message[name] = value
    if draft.body_type == "html":
        message.set_content(html_to_text(draft.body))
        message.add_alternative(draft.body, subtype="html")
        html_part = message.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        for name, ctype, data, cid, inline in draft.attachments:
            if inline and cid:
                maintype, _, subtype = ctype.partition("/")
                html_part.add_related(
                    data,
                    maintype=maintype,
                    subtype=subtype or "octet-stream",
                    cid=f"<{cid}>",
                    filename=name,
                )
    else:
        message.set_content(draft.body)
    for name, ctype, data, cid, inline in draft.attachments:
        if inline and cid and draft.body_type == "html":
            continue
        maintype, _, subtype = ctype.partition("/")
        message.add_attachment(
            data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=name,
            cid=f"<{cid}>" if cid else None,
        )
    return message.as_bytes()


def _quote_header(parsed: ParsedMail, received: datetime) -> str:
    def names(pairs: tuple[Pair, ...]) -> str:
        return "; ".join(html.escape(n or a) for n, a in pairs)

    lines = [
        f"<b>From:</b> {names(parsed.from_)}",
        f"<b>Sent:</b> {format_datetime(received)}",
        f"<b>To:</b> {names(parsed.to)}",
    ]
    if parsed.cc:
        lines.append(f"<b>Cc:</b> {names(parsed.cc)}")
    lines.append(f"<b>Subject:</b> {html.escape(parsed.subject)}")
    return "<br>".join(lines)


def response_draft(
    *, kind: str, original: StoredMessage, parsed: ParsedMail, owner: User, comment: str
) -> Draft:
    """A reply, reply-all or forward of ``original``, as Outlook composes it."""
    me = owner.upn.lower()
    draft = Draft(sender=(owner.name, owner.upn), message_id=new_message_id(owner))
    prefix = "FW: " if kind == "forward" else "RE: "
    subject = parsed.subject
    draft.subject = (
        subject if subject.upper().startswith(prefix.strip().upper()) else prefix + subject
    )
    if kind != "forward":
        draft.in_reply_to = parsed.message_id
        draft.references = [*parsed.references, *([parsed.message_id] if parsed.message_id else [])]
        draft.to = list(parsed.reply_to or parsed.from_)
        if kind == "replyAll":
            seen = {a.lower() for _, a in draft.to} | {me}
            for pair in parsed.to:
                if pair[1].lower() not in seen:
                    draft.to.append(pair)
                    seen.add(pair[1].lower())
            draft.cc = [p for p in parsed.cc if p[1].lower() not in seen]
    else:
        draft.attachments = [
            (a.name, a.content_type, a.content, a.content_id, a.is_inline)
            for a in parsed.attachments
            if not a.is_item
        ]
    original_html = (
        parsed.body_html
        if parsed.body_html is not None
        else "<pre>" + html.escape(parsed.body_text or "") + "</pre>"
    )
    quoted = _quote_header(parsed, original.received_at)
    draft.body = (
        f'<html><body><div>{html.escape(comment)}</div><hr style="display:inline-block;'
        f'width:98%"><div id="divRplyFwdMsg">{quoted}</div><br>{original_html}'
        "</body></html>"
    )
    return draft


def deliver(state: MicrosoftState, draft: Draft, date: datetime) -> int:
    """Put a copy in the Inbox of every recipient who has a sandbox mailbox (any tenant)."""
    raw = build_mime(draft, date, include_bcc=False)
    delivered = 0
    seen: set[str] = set()
    for _, address in [*draft.to, *draft.cc, *draft.bcc]:
        key = address.lower()
        if key in seen:
            continue
        seen.add(key)
        user = state.find_user(key)
        if user is None:
            continue
        mailbox = state.mailboxes[user.oid]
        inbox = state.well_known_folder(mailbox, "inbox")
        mailstore.add_message(
            state, mailbox, raw=raw, folder=inbox, received_at=date, is_read=False
        )
        delivered += 1
    return delivered


def sender_for(state: MicrosoftState, caller: User, target: User, data: dict[str, Any]) -> Pair:
    """Who a message goes out as: the mailbox, or a shared mailbox the caller may send as."""
    requested = (
        ((data.get("from") or {}).get("emailAddress") or {}).get("address")
        if isinstance(data.get("from"), dict)
        else None
    )
    if not requested or requested.lower() == target.upn:
        return (target.name, target.upn)
    other = state.find_user(requested)
    if other is not None and other.shared and caller.oid in other.delegates:
        return (other.name, other.upn)
    raise GraphError(
        403,
        "ErrorSendAsDenied",
        "The user account which was used to submit this request does not have the "
        "right to send mail on behalf of the specified sending account., Cannot "
        "submit message.",
    )
