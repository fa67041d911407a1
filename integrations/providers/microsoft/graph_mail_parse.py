"""Graph message, attachment and folder JSON turned into the driver interface's dataclasses.

Graph has already parsed the MIME: these functions only normalize (addresses lower-cased,
Exchange's name-equals-address placeholder dropped, Message-IDs bracketed, UTC datetimes).
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from integrations.providers.mail import RemoteAddress, RemoteAttachment, RemoteFlags, RemoteMessage
from integrations.providers.mime import (
    ADDRESS_CACHE_SIZE,
    SNIPPET_LENGTH,
    first_message_id,
    message_ids,
    normalize_address,
    snippet_of,
)

# Exactly what a RemoteMessage needs. internetMessageHeaders is only returned when selected;
# real Graph accepts it in a delta $select (and the sandbox does too).
MESSAGE_FIELDS = (
    "internetMessageId",
    "conversationId",
    "subject",
    "sentDateTime",
    "receivedDateTime",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "body",
    "bodyPreview",
    "isRead",
    "flag",
    "parentFolderId",
    "hasAttachments",
    "internetMessageHeaders",
)
MESSAGE_SELECT = ",".join(MESSAGE_FIELDS)
# Properties of the base attachment type only: real Graph rejects $select=contentId or
# contentBytes on an attachments collection ("Could not find a property named 'contentId' on
# type 'microsoft.graph.attachment'"), though the sandbox accepts them.
ATTACHMENT_META_SELECT = "id,name,contentType,size,isInline"

WELL_KNOWN_ROLES = {
    "inbox": "inbox",
    "sentitems": "sent",
    "archive": "archive",
    "drafts": "drafts",
    "junkemail": "spam",
    "deleteditems": "trash",
}
# Graph reports hasAttachments=false for a message whose only attachments are inline images;
# the HTML cites those by cid:, so that is how they are noticed.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_datetime(value: Any) -> datetime | None:
    """Graph's DateTimeOffset (``2024-03-19T22:11:09Z``, maybe with fractions) as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _address(value: Any) -> RemoteAddress | None:
    email = value.get("emailAddress") if isinstance(value, dict) else None
    if not isinstance(email, dict):
        return None
    return _remote_address(str(email.get("address") or ""), str(email.get("name") or ""))


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _remote_address(raw_address: str, raw_name: str) -> RemoteAddress | None:
    address = normalize_address(raw_address)
    if "@" not in address:  # Exchange-internal (X500) senders carry no SMTP address
        return None
    name = raw_name.strip().strip('"')
    if name.lower() == address or name.strip("<>").lower() == address:
        name = ""  # Exchange fills a missing display name with the address itself
    return RemoteAddress(address=address, name=name)


def _addresses(values: Any) -> tuple[RemoteAddress, ...]:
    if not values:
        return ()
    found: list[RemoteAddress] = []
    seen: set[str] = set()
    for value in values:
        parsed = _address(value)
        if parsed is not None and parsed.address not in seen:
            seen.add(parsed.address)
            found.append(parsed)
    return tuple(found)


def _rfc_message_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    bracketed = first_message_id(value)
    if bracketed:
        return bracketed
    bare = value.strip()
    return f"<{bare}>" if " " not in bare else ""


def _threading(headers: Any) -> tuple[str, tuple[str, ...]]:
    in_reply_to = ""
    references: tuple[str, ...] = ()
    for header in headers or ():
        name = header.get("name")
        # Only In-Reply-To (11) and References (10) matter: skip the rest without lower().
        if not isinstance(name, str) or len(name) not in (10, 11):
            continue
        lowered = name.lower()
        if lowered == "in-reply-to":
            in_reply_to = in_reply_to or first_message_id(str(header.get("value") or ""))
        elif lowered == "references":
            references = message_ids(str(header.get("value") or ""))
    return in_reply_to, references


def is_complete(item: dict[str, Any]) -> bool:
    """Whether a delta item carries the content, not just changed properties.

    Real Graph can answer a read/flag change with only id, isRead and parentFolderId even
    when $select named more (microsoft-graph-docs issue 7776).
    """
    return "receivedDateTime" in item and "body" in item


def flags_of(item: dict[str, Any]) -> RemoteFlags | None:
    """The flags of a partial delta item, when it carries all of them."""
    if "isRead" not in item or not isinstance(item.get("flag"), dict):
        return None
    folder = item.get("parentFolderId")
    return RemoteFlags(
        provider_id=str(item["id"]),
        folder_ids=(str(folder),) if folder else (),
        is_read=bool(item["isRead"]),
        is_starred=item["flag"].get("flagStatus") == "flagged",
    )


def wants_attachments(item: dict[str, Any]) -> bool:
    """Whether to list a message's attachments: hasAttachments alone misses parts.

    Graph reports hasAttachments=false when every attachment is inline: images the HTML cites
    by cid:, but also inline parts nothing cites (a second text/plain part, a signature). The
    MIME structure in internetMessageHeaders tells those apart from plain bodies, so no part
    is dropped silently while most messages still cost no attachment request.
    """
    if item.get("hasAttachments"):
        return True
    body = item.get("body")
    content = body.get("content") if isinstance(body, dict) else None
    # Lower-casing and a plain search cost a tenth of a case-blind regex over the body.
    if isinstance(content, str) and "cid:" in content.lower():
        return True
    content_type = _header(item.get("internetMessageHeaders"), "content-type")
    kind = content_type.split(";", 1)[0].strip().lower()
    return bool(kind) and not kind.startswith("text/") and kind != "multipart/alternative"


def _header(headers: Any, wanted: str) -> str:
    for header in headers or ():
        name = header.get("name")
        if isinstance(name, str) and len(name) == len(wanted) and name.lower() == wanted:
            return str(header.get("value") or "")
    return ""


def has_only_inline(item: dict[str, Any]) -> bool:
    """Attachments Graph calls inline only: inline images and such, small as a rule."""
    return not item.get("hasAttachments")


def message_from_json(
    item: dict[str, Any], attachments: tuple[RemoteAttachment, ...] = ()
) -> RemoteMessage:
    received = parse_datetime(item.get("receivedDateTime"))
    sent = parse_datetime(item.get("sentDateTime"))
    received = received or sent or _EPOCH
    body = item.get("body") or {}
    content = str(body.get("content") or "")
    # The other body is not derived: HTML to text cost ~50 us a message, a third of the
    # plain download's time per message (benchmarks/graph_driver.py).
    is_html = str(body.get("contentType") or "").lower() == "html"
    html_body, text_body = (content, "") if is_html else ("", content)
    preview = str(item.get("bodyPreview") or "")
    in_reply_to, references = _threading(item.get("internetMessageHeaders"))
    folder = item.get("parentFolderId")
    flag = item.get("flag")
    sender = _address(item.get("from")) or _address(item.get("sender"))
    return RemoteMessage(
        provider_id=str(item["id"]),
        provider_thread_id=str(item.get("conversationId") or ""),
        rfc_message_id=_rfc_message_id(item.get("internetMessageId")),
        subject=str(item.get("subject") or ""),
        sent_at=sent or received,
        received_at=received,
        sender=sender,
        to=_addresses(item.get("toRecipients")),
        cc=_addresses(item.get("ccRecipients")),
        bcc=_addresses(item.get("bccRecipients")),
        reply_to=_addresses(item.get("replyTo")),
        in_reply_to=in_reply_to,
        references=references,
        text_body=text_body,
        html_body=html_body,
        # bodyPreview is short: str.split() collapses its whitespace faster than a regex.
        snippet=" ".join(preview.split())[:SNIPPET_LENGTH] if preview else snippet_of(text_body),
        folder_ids=(str(folder),) if folder else (),
        is_read=bool(item.get("isRead")),
        is_starred=isinstance(flag, dict) and flag.get("flagStatus") == "flagged",
        attachments=attachments,
    )


def attachment_from_json(value: dict[str, Any], *, keep_data_up_to: int = 0) -> RemoteAttachment:
    odata_type = str(value.get("@odata.type") or "")
    is_item = odata_type.endswith("itemAttachment")
    content_type = str(value.get("contentType") or "")
    if not content_type:
        # Graph gives an attached message (itemAttachment) a null contentType.
        content_type = "message/rfc822" if is_item else "application/octet-stream"
    size = int(value.get("size") or 0)
    data: bytes | None = None
    encoded = value.get("contentBytes")
    if isinstance(encoded, str) and size <= keep_data_up_to:
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            data = None  # fetched later through $value instead
    return RemoteAttachment(
        filename=str(value.get("name") or ""),
        content_type=content_type.lower(),
        size=size,
        provider_attachment_id=str(value.get("id") or ""),
        content_id=str(value.get("contentId") or "").strip().strip("<>"),
        is_inline=bool(value.get("isInline")),
        data=data,
    )


def folder_role(well_known: str | None) -> str:
    return WELL_KNOWN_ROLES.get(well_known or "", "other")
