"""Message resources in Gmail's four formats, and the message selection lists share.

All formats come from the one stored source: ``minimal`` (ids, labels, snippet, sizes, dates),
``metadata`` (+ ``payload.headers``, filtered by ``metadataHeaders``), ``full`` (+ the parsed part
tree) and ``raw`` (+ the source in base64url). Like every proto3 JSON answer, empty lists are
left out: a message with no labels has no ``labelIds`` key at all.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google.errors import abort, bad_request
from integrations.sandbox.google.gmail_common import GmailCall
from integrations.sandbox.google.gmail_mime import b64url
from integrations.sandbox.google.gmail_search import compile_query
from integrations.sandbox.google.gmail_store import StoredMessage

FORMATS = ("minimal", "full", "raw", "metadata")


def message_format(call: GmailCall, default: str = "full") -> str:
    value = (call.arg("format") or default).lower()
    if value not in FORMATS:
        raise bad_request(
            f"Invalid value at 'format' (type.googleapis.com/google.apps.gmail.v1.Format), "
            f'"{call.arg("format")}"'
        )
    if call.metadata_only and value in ("full", "raw"):
        raise abort(403, f"Metadata scope doesn't allow format {value.upper()}", reason="forbidden")
    return value


def render_message(
    message: StoredMessage, fmt: str, metadata_headers: list[str] | None = None
) -> dict[str, Any]:
    parsed = message.parsed
    body: dict[str, Any] = {"id": message.id, "threadId": message.thread_id}
    if message.label_ids:
        body["labelIds"] = list(message.label_ids)
    body["snippet"] = parsed.snippet
    if fmt == "full":
        body["payload"] = parsed.payload
    elif fmt == "metadata":
        headers = parsed.headers
        if metadata_headers:
            wanted = {name.lower() for name in metadata_headers}
            headers = [h for h in headers if h["name"].lower() in wanted]
        payload: dict[str, Any] = {"mimeType": parsed.payload["mimeType"]}
        if headers:
            payload["headers"] = headers
        body["payload"] = payload
    body["sizeEstimate"] = len(message.raw)
    if fmt == "raw":
        body["raw"] = b64url(message.raw)
    body["historyId"] = str(message.history_id)
    body["internalDate"] = str(message.internal_date)
    return body


def label_reference(message: StoredMessage) -> dict[str, Any]:
    """The short message form modify/trash answers and history records carry."""
    body: dict[str, Any] = {"id": message.id, "threadId": message.thread_id}
    if message.label_ids:
        body["labelIds"] = list(message.label_ids)
    return body


def selected_messages(call: GmailCall) -> list[StoredMessage]:
    """messages.list / threads.list selection: labelIds (all must match), q, Spam/Trash rule."""
    label_ids = [
        label for value in call.request.args("labelIds") for label in value.split(",") if label
    ]
    query = call.arg("q") or ""
    if query and call.metadata_only:
        raise abort(403, "Metadata scope does not support 'q' parameter", reason="forbidden")
    include_spam_trash = call.bool_arg("includeSpamTrash")
    mailbox = call.mailbox
    search = compile_query(query, mailbox, int(call.now() * 1000)) if query.strip() else None
    if search is not None and search.includes_spam_trash:
        include_spam_trash = True
    excluded = set() if include_spam_trash else {"SPAM", "TRASH"}
    # Gmail quirk: naming SPAM or TRASH in labelIds lists them even without includeSpamTrash.
    excluded -= set(label_ids)
    found = []
    for message in mailbox.newest_first():
        labels = message.label_ids
        if excluded and not excluded.isdisjoint(labels):
            continue
        if label_ids and not all(label in labels for label in label_ids):
            continue
        if search is not None and not search.matches(message):
            continue
        found.append(message)
    return found
