"""users.messages: list, get, attachments.get, modify, batchModify, trash, untrash, delete,
batchDelete. (send, insert and import are in :mod:`gmail_send`.)
"""

from __future__ import annotations

import re
from typing import Any

from integrations.sandbox.google.errors import bad_request, not_found
from integrations.sandbox.google.gmail_common import (
    GmailCall,
    gmail_route,
    page_token,
    read_page_token,
)
from integrations.sandbox.google.gmail_format import (
    label_reference,
    message_format,
    render_message,
    selected_messages,
)
from integrations.sandbox.google.gmail_mime import attachment_part, b64url
from integrations.sandbox.google.gmail_store import Mailbox, StoredMessage
from integrations.sandbox.http import Response

ID_PATTERN = re.compile(r"[0-9a-fA-F]{1,16}")
MAX_BATCH_IDS = 1000
# Labels the API never lets a client put on or take off a message by modify.
_FIXED_LABELS = {"DRAFT", "SENT", "CHAT"}


def find_message(mailbox: Mailbox, message_id: str) -> StoredMessage:
    if not ID_PATTERN.fullmatch(message_id):
        raise bad_request("Invalid id value")
    message = mailbox.messages.get(message_id.lower())
    if message is None:
        raise not_found()
    return message


def checked_labels(mailbox: Mailbox, body: dict[str, Any], key: str) -> list[str]:
    labels = body.get(key) or []
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise bad_request(f"Invalid value at '{key}'")
    for label in labels:
        if not mailbox.label_exists(label) or label in _FIXED_LABELS:
            raise bad_request(f"Invalid label: {label}")
    return labels


def page_of(items: list[Any], call: GmailCall, key: Any) -> tuple[list[Any], str | None]:
    """One page of ``items`` (already in list order) after the caller's pageToken."""
    size = call.int_arg("maxResults", default=100, maximum=500)
    after = read_page_token(call.arg("pageToken"))
    start = 0
    if after is not None:
        start = next((i for i, item in enumerate(items) if key(item) < after), len(items))
    page = items[start : start + size]
    more = start + size < len(items)
    token = page_token(*key(page[-1])) if more and page else None
    return page, token


def list_body(
    name: str, rows: list[dict[str, Any]], token: str | None, total: int
) -> dict[str, Any]:
    """A list page as Gmail answers it: no ``name`` key when empty, a token only if more."""
    body: dict[str, Any] = {}
    if rows:
        body[name] = rows
    if token:
        body["nextPageToken"] = token
    body["resultSizeEstimate"] = total
    return body


@gmail_route("GET", "/messages", name="gmail.users.messages.list")
def messages_list(call: GmailCall) -> dict[str, Any]:
    found = selected_messages(call)
    page, token = page_of(found, call, key=lambda m: (m.internal_date, m.id))
    rows = [{"id": m.id, "threadId": m.thread_id} for m in page]
    return list_body("messages", rows, token, len(found))


@gmail_route("GET", "/messages/(?P<id>[^/]+)", name="gmail.users.messages.get")
def messages_get(call: GmailCall) -> dict[str, Any]:
    message = find_message(call.mailbox, call.request.params["id"])
    fmt = message_format(call)
    return render_message(message, fmt, call.request.args("metadataHeaders"))


@gmail_route(
    "GET",
    "/messages/(?P<messageId>[^/]+)/attachments/(?P<id>[^/]+)",
    name="gmail.users.messages.attachments.get",
)
def attachments_get(call: GmailCall) -> dict[str, Any]:
    message = find_message(call.mailbox, call.request.params["messageId"])
    named = attachment_part(call.request.params["id"])
    if named is None or named[0] != message.id:
        raise bad_request("Invalid attachment token")
    data = message.parsed.attachments.get(named[1])
    if data is None:
        raise not_found()
    return {"size": len(data), "data": b64url(data)}


@gmail_route("POST", "/messages/(?P<id>[^/]+)/modify", name="gmail.users.messages.modify")
def messages_modify(call: GmailCall) -> dict[str, Any]:
    body = call.json_body(
        {"addLabelIds", "removeLabelIds", "addClassificationLabels", "removeClassificationLabelIds"}
    )
    mailbox = call.mailbox
    message = find_message(mailbox, call.request.params["id"])
    add = checked_labels(mailbox, body, "addLabelIds")
    remove = checked_labels(mailbox, body, "removeLabelIds")
    mailbox.change_labels(message, add, remove, call.now())
    return label_reference(message)


@gmail_route("POST", "/messages/batchModify", name="gmail.users.messages.batchModify")
def messages_batch_modify(call: GmailCall) -> Response:
    body = call.json_body(
        {
            "ids",
            "addLabelIds",
            "removeLabelIds",
            "addClassificationLabels",
            "removeClassificationLabelIds",
        }
    )
    mailbox = call.mailbox
    add = checked_labels(mailbox, body, "addLabelIds")
    remove = checked_labels(mailbox, body, "removeLabelIds")
    now = call.now()
    for message in batch_targets(mailbox, body):
        mailbox.change_labels(message, add, remove, now)
    return Response.empty()


def batch_targets(mailbox: Mailbox, body: dict[str, Any]) -> list[StoredMessage]:
    """The messages a batch call names; ids that no longer exist are skipped, as Gmail does."""
    ids = body.get("ids") or []
    if not isinstance(ids, list) or not ids:
        raise bad_request("No ids specified.")
    if len(ids) > MAX_BATCH_IDS:
        raise bad_request(f"Too many ids specified. Maximum is {MAX_BATCH_IDS}.")
    for message_id in ids:
        if not isinstance(message_id, str) or not ID_PATTERN.fullmatch(message_id):
            raise bad_request("Invalid id value")
    unique = dict.fromkeys(message_id.lower() for message_id in ids)
    return [mailbox.messages[i] for i in unique if i in mailbox.messages]


def trash_message(mailbox: Mailbox, message: StoredMessage, now: float) -> None:
    # Trashing takes a message out of the Inbox (and Spam); untrash does not put it back.
    mailbox.change_labels(message, ["TRASH"], ["INBOX", "SPAM"], now)


def untrash_message(mailbox: Mailbox, message: StoredMessage, now: float) -> None:
    mailbox.change_labels(message, [], ["TRASH"], now)


@gmail_route("POST", "/messages/(?P<id>[^/]+)/trash", name="gmail.users.messages.trash")
def messages_trash(call: GmailCall) -> dict[str, Any]:
    message = find_message(call.mailbox, call.request.params["id"])
    trash_message(call.mailbox, message, call.now())
    return label_reference(message)


@gmail_route("POST", "/messages/(?P<id>[^/]+)/untrash", name="gmail.users.messages.untrash")
def messages_untrash(call: GmailCall) -> dict[str, Any]:
    message = find_message(call.mailbox, call.request.params["id"])
    untrash_message(call.mailbox, message, call.now())
    return label_reference(message)


@gmail_route("DELETE", "/messages/(?P<id>[^/]+)", name="gmail.users.messages.delete")
def messages_delete(call: GmailCall) -> Response:
    message = find_message(call.mailbox, call.request.params["id"])
    call.mailbox.delete(message, call.now())
    return Response.empty()


@gmail_route("POST", "/messages/batchDelete", name="gmail.users.messages.batchDelete")
def messages_batch_delete(call: GmailCall) -> Response:
    body = call.json_body({"ids"})
    now = call.now()
    for message in batch_targets(call.mailbox, body):
        call.mailbox.delete(message, now)
    return Response.empty()
