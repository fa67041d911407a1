"""Graph's message JSON, derived from the stored RFC 5322 source (parsed once, then cached)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.mime import (
    ParsedAttachment,
    ParsedMail,
    conversation_index,
    html_to_text,
    parse_mail,
    text_to_html,
)
from integrations.sandbox.microsoft.records import StoredMessage

# Every property of microsoft.graph.message, in the order Graph writes them.
MESSAGE_PROPERTIES = (
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
)
SELECT_ONLY = ("internetMessageHeaders", "uniqueBody")  # returned only when $select names them
ALL_SELECTABLE = {p.lower(): p for p in ("id", *MESSAGE_PROPERTIES, *SELECT_ONLY)}


def attachment_json(
    message: StoredMessage, attachment: ParsedAttachment, select: list[str] | None = None
) -> dict[str, Any]:
    attachment_id = ids.attachment_id(message.immutable_id, attachment.index)
    if attachment.is_item:
        full: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.itemAttachment",
            "id": attachment_id,
            "lastModifiedDateTime": iso(message.modified_at),
            "name": attachment.name,
            "contentType": None,
            "size": len(attachment.content),
            "isInline": False,
        }
    else:
        full = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "@odata.mediaContentType": attachment.content_type,
            "id": attachment_id,
            "lastModifiedDateTime": iso(message.modified_at),
            "name": attachment.name,
            "contentType": attachment.content_type,
            "size": len(attachment.content),
            "isInline": attachment.is_inline,
            "contentId": attachment.content_id,
            "contentLocation": None,
            "contentBytes": base64.b64encode(attachment.content).decode("ascii"),
        }
    if select is None:
        return full
    keep = {"@odata.type", "@odata.mediaContentType", "id", *select}
    return {k: v for k, v in full.items() if k in keep}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def recipients(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> list[dict[str, Any]]:
    # Exchange fills a missing display name with the address itself.
    return [
        {"emailAddress": {"name": name or address, "address": address}} for name, address in pairs
    ]


@dataclass
class RenderCache:
    parsed: ParsedMail
    static: dict[str, Any]
    bodies: dict[str, dict[str, str]] = field(default_factory=dict)


def conversation_id(mailbox_oid: str, root: str) -> str:
    digest = hashlib.sha256(f"{mailbox_oid}|{root}".encode()).digest()
    return base64.urlsafe_b64encode(b"\x00\x00\x00\x00\x1b\x24\x00\x10" + digest[:16]).decode()


def cache_of(message: StoredMessage, mailbox_oid: str) -> RenderCache:
    cached = message._parsed
    if cached is None:
        parsed = parse_mail(message.raw)
        static: dict[str, Any] = {
            "hasAttachments": parsed.has_attachments,
            "internetMessageId": parsed.message_id,
            "subject": parsed.subject,
            "bodyPreview": parsed.preview,
            "importance": parsed.importance,
            "conversationId": conversation_id(mailbox_oid, parsed.thread_root),
            "conversationIndex": conversation_index(
                parsed.thread_root, parsed.date, len(parsed.references)
            ),
            "isDeliveryReceiptRequested": False,
            "isReadReceiptRequested": parsed.read_receipt,
            "sender": recipients(parsed.sender[:1])[0] if parsed.sender else None,
            "from": recipients(parsed.from_[:1])[0] if parsed.from_ else None,
            "toRecipients": recipients(parsed.to),
            "ccRecipients": recipients(parsed.cc),
            "bccRecipients": recipients(parsed.bcc),
            "replyTo": recipients(parsed.reply_to),
            "internetMessageHeaders": [{"name": n, "value": v} for n, v in parsed.headers],
        }
        cached = RenderCache(parsed, static)
        message._parsed = cached
    return cached


def body_of(cache: RenderCache, body_type: str | None) -> dict[str, str]:
    """The body as stored, or converted when ``Prefer: outlook.body-content-type`` asks."""
    key = body_type or "stored"
    found = cache.bodies.get(key)
    if found is not None:
        return found
    parsed = cache.parsed
    if body_type == "text":
        text = (
            parsed.body_text
            if parsed.body_text is not None
            else html_to_text(parsed.body_html or "")
        )
        found = {"contentType": "text", "content": text}
    elif body_type == "html" or parsed.body_html is not None:
        markup = (
            parsed.body_html
            if parsed.body_html is not None
            else text_to_html(parsed.body_text or "")
        )
        found = {"contentType": "html", "content": markup}
    else:
        found = {"contentType": "text", "content": parsed.body_text or ""}
    cache.bodies[key] = found
    return found


def web_link(item_id: str) -> str:
    return (
        f"https://outlook.office365.com/owa/?ItemID={quote(item_id, safe='')}"
        "&exvsurl=1&viewmodel=ReadMessageItem"
    )


def message_json(
    message: StoredMessage,
    *,
    mailbox_oid: str,
    immutable: bool,
    body_type: str | None,
    select: list[str] | None,
    expand_attachments: bool = False,
) -> dict[str, Any]:
    cache = cache_of(message, mailbox_oid)
    item_id = message.immutable_id if immutable else message.rest_id
    sent = cache.parsed.date or message.received_at
    if message.is_draft:
        sent = message.created_at
    values: dict[str, Any] = {
        "createdDateTime": iso(message.created_at),
        "lastModifiedDateTime": iso(message.modified_at),
        "changeKey": message.change_key,
        "categories": list(message.categories),
        "receivedDateTime": iso(message.received_at),
        "sentDateTime": iso(sent),
        "parentFolderId": message.folder_id,
        "isRead": message.is_read,
        "isDraft": message.is_draft,
        "webLink": web_link(item_id),
        "inferenceClassification": "focused",
        "flag": {"flagStatus": message.flag_status},
    }
    out: dict[str, Any] = {"@odata.etag": f'W/"{message.change_key}"', "id": item_id}
    names = MESSAGE_PROPERTIES if select is None else [n for n in select if n != "id"]
    static = cache.static
    for name in names:
        if name == "body":
            out["body"] = dict(body_of(cache, body_type))
        elif name == "uniqueBody":
            out["uniqueBody"] = dict(body_of(cache, body_type))
        elif name in values:
            out[name] = values[name]
        else:
            out[name] = static[name]
    if expand_attachments:
        out["attachments"] = [attachment_json(message, a) for a in cache.parsed.attachments]
    return out
