"""users.messages.send, insert and import, with a JSON ``raw`` body or a media upload.

The message arrives either as ``{"raw": base64url, "threadId"?, "labelIds"?}`` at
``/gmail/v1/users/{userId}/messages[/send|/import]``, or through the upload paths
(``/upload/gmail/v1/...``) with ``uploadType=media`` (the body is the message/rfc822 source) or
``uploadType=multipart`` (multipart/related: the JSON metadata, then the source), which is what
googleapiclient sends for ``media_body=``.

``insert`` stores the message like IMAP APPEND, with exactly the given labels and no scanning;
``import`` is delivery-like; ``internalDateSource`` defaults to ``receivedTime`` for insert and
``dateHeader`` for import (Gmail's defaults).
"""

from __future__ import annotations

import binascii
from typing import Any

from integrations.sandbox.google.errors import bad_request, not_found
from integrations.sandbox.google.gmail_common import GmailCall, gmail_route, parse_json_object
from integrations.sandbox.google.gmail_delivery import DeliveryError, send_message
from integrations.sandbox.google.gmail_format import label_reference
from integrations.sandbox.google.gmail_messages import checked_labels
from integrations.sandbox.google.gmail_mime import decode_b64, parse_envelope
from integrations.sandbox.google.multipart import boundary_of, split_multipart

MESSAGE_FIELDS = {
    "id",
    "threadId",
    "labelIds",
    "snippet",
    "historyId",
    "internalDate",
    "payload",
    "sizeEstimate",
    "raw",
    "classificationLabelValues",
}
MAX_MESSAGE_BYTES = 36_700_160  # discovery mediaUpload.maxSize: 35 MB
_NO_RAW = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"


def message_upload(call: GmailCall) -> tuple[dict[str, Any], bytes]:
    """(Message metadata, raw source) from a JSON body or an upload."""
    request = call.request
    upload_type = request.arg("uploadType")
    if upload_type is None:
        body = call.json_body(MESSAGE_FIELDS)
        encoded = body.get("raw")
        if not isinstance(encoded, str) or not encoded:
            raise bad_request(_NO_RAW)
        try:
            raw = decode_b64(encoded)
        except (binascii.Error, ValueError):
            raise bad_request(
                "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed"
            ) from None
        return body, raw
    if upload_type == "media":
        return {}, request.body
    if upload_type == "multipart":
        boundary = boundary_of(request.headers.get("content-type", ""))
        parts = split_multipart(request.body, boundary) if boundary else []
        if len(parts) != 2:
            raise bad_request("Invalid multipart request with 0 mime parts.")
        metadata = parse_json_object(parts[0][1], MESSAGE_FIELDS)
        return metadata, parts[1][1]
    raise bad_request(f"Invalid upload type: {upload_type}. Use media or multipart.")


def _checked_raw(raw: bytes) -> bytes:
    if not raw.strip():
        raise bad_request(_NO_RAW)
    if len(raw) > MAX_MESSAGE_BYTES:
        raise bad_request("Message too large")
    return raw


def _requested_thread(call: GmailCall, metadata: dict[str, Any]) -> str | None:
    thread_id = metadata.get("threadId")
    if thread_id in (None, ""):
        return None
    if not isinstance(thread_id, str) or thread_id.lower() not in call.mailbox.threads:
        raise not_found()
    return thread_id.lower()


@gmail_route("POST", "/messages/send", name="gmail.users.messages.send", upload=True)
def messages_send(call: GmailCall) -> dict[str, Any]:
    metadata, raw = message_upload(call)
    thread = _requested_thread(call, metadata)
    try:
        sent = send_message(
            call.sandbox.google, call.user, _checked_raw(raw), thread, call.sandbox.now()
        )
    except DeliveryError as exc:
        raise bad_request(str(exc)) from None
    return label_reference(sent)


def _store(call: GmailCall, default_date_source: str) -> dict[str, Any]:
    metadata, raw = message_upload(call)
    raw = _checked_raw(raw)
    mailbox = call.mailbox
    labels = checked_labels(mailbox, metadata, "labelIds")
    thread = _requested_thread(call, metadata)
    source = call.arg("internalDateSource") or default_date_source
    if source not in ("receivedTime", "dateHeader"):
        raise bad_request(f"Invalid value at 'internal_date_source': \"{source}\"")
    now = call.now()
    internal = int(now * 1000)
    if source == "dateHeader":
        date = parse_envelope(raw).date
        internal = int(date.timestamp() * 1000) if date is not None else internal
    if call.bool_arg("deleted"):
        labels = []  # "deleted" mail is only visible to Vault: no labels at all
    message = mailbox.add(raw, labels, internal, now, requested_thread=thread)
    return label_reference(message)


@gmail_route("POST", "/messages", name="gmail.users.messages.insert", upload=True)
def messages_insert(call: GmailCall) -> dict[str, Any]:
    return _store(call, "receivedTime")


@gmail_route("POST", "/messages/import", name="gmail.users.messages.import", upload=True)
def messages_import(call: GmailCall) -> dict[str, Any]:
    return _store(call, "dateHeader")
