"""users.threads: list, get, modify, trash, untrash, delete.

A thread matches a list query when any of its messages does; threads are ordered by their newest
matching message. ``threads.get`` returns every message of the thread, oldest first, in the
requested format; ``historyId`` is the highest of its messages'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.google.errors import bad_request, not_found
from integrations.sandbox.google.gmail_common import GmailCall, gmail_route
from integrations.sandbox.google.gmail_format import (
    label_reference,
    message_format,
    render_message,
    selected_messages,
)
from integrations.sandbox.google.gmail_messages import (
    ID_PATTERN,
    checked_labels,
    list_body,
    page_of,
    trash_message,
    untrash_message,
)
from integrations.sandbox.google.gmail_store import Mailbox, StoredMessage
from integrations.sandbox.http import Response


def thread_messages(mailbox: Mailbox, thread_id: str) -> list[StoredMessage]:
    if not ID_PATTERN.fullmatch(thread_id):
        raise bad_request("Invalid id value")
    messages = mailbox.thread_messages(thread_id.lower())
    if not messages:
        raise not_found()
    return sorted(messages, key=lambda m: (m.internal_date, m.id))


def _thread_reference(thread_id: str, messages: list[StoredMessage]) -> dict[str, Any]:
    return {
        "id": thread_id,
        "historyId": str(max(m.history_id for m in messages)),
        "messages": [label_reference(m) for m in messages],
    }


@gmail_route("GET", "/threads", name="gmail.users.threads.list")
def threads_list(call: GmailCall) -> dict[str, Any]:
    newest: dict[str, StoredMessage] = {}
    for message in selected_messages(call):  # newest first, so the first seen is the newest
        newest.setdefault(message.thread_id, message)
    ordered = list(newest.items())
    page, token = page_of(ordered, call, key=lambda item: (item[1].internal_date, item[0]))
    rows = [_thread_summary(call.mailbox, thread_id) for thread_id, _ in page]
    return list_body("threads", rows, token, len(ordered))


def _thread_summary(mailbox: Mailbox, thread_id: str) -> dict[str, Any]:
    messages = mailbox.thread_messages(thread_id)
    latest = max(messages, key=lambda m: (m.internal_date, m.id))
    return {
        "id": thread_id,
        "snippet": latest.parsed.snippet,
        "historyId": str(max(m.history_id for m in messages)),
    }


@gmail_route("GET", "/threads/(?P<id>[^/]+)", name="gmail.users.threads.get")
def threads_get(call: GmailCall) -> dict[str, Any]:
    messages = thread_messages(call.mailbox, call.request.params["id"])
    fmt = message_format(call)
    headers = call.request.args("metadataHeaders")
    return {
        "id": messages[0].thread_id,
        "historyId": str(max(m.history_id for m in messages)),
        "messages": [render_message(m, fmt, headers) for m in messages],
    }


@gmail_route("POST", "/threads/(?P<id>[^/]+)/modify", name="gmail.users.threads.modify")
def threads_modify(call: GmailCall) -> dict[str, Any]:
    body = call.json_body({"addLabelIds", "removeLabelIds"})
    mailbox = call.mailbox
    messages = thread_messages(mailbox, call.request.params["id"])
    add = checked_labels(mailbox, body, "addLabelIds")
    remove = checked_labels(mailbox, body, "removeLabelIds")
    now = call.now()
    for message in messages:
        mailbox.change_labels(message, add, remove, now)
    return _thread_reference(messages[0].thread_id, messages)


@gmail_route("POST", "/threads/(?P<id>[^/]+)/trash", name="gmail.users.threads.trash")
def threads_trash(call: GmailCall) -> dict[str, Any]:
    messages = _each_message(call, lambda message, now: trash_message(call.mailbox, message, now))
    return _thread_reference(messages[0].thread_id, messages)


@gmail_route("POST", "/threads/(?P<id>[^/]+)/untrash", name="gmail.users.threads.untrash")
def threads_untrash(call: GmailCall) -> dict[str, Any]:
    messages = _each_message(call, lambda message, now: untrash_message(call.mailbox, message, now))
    return _thread_reference(messages[0].thread_id, messages)


@gmail_route("DELETE", "/threads/(?P<id>[^/]+)", name="gmail.users.threads.delete")
def threads_delete(call: GmailCall) -> Response:
    _each_message(call, call.mailbox.delete)
    return Response.empty()


def _each_message(
    call: GmailCall, action: Callable[[StoredMessage, float], object]
) -> list[StoredMessage]:
    """Apply ``action(message, now)`` to every message of the route's thread, oldest first."""
    messages = thread_messages(call.mailbox, call.request.params["id"])
    now = call.now()
    for message in messages:
        action(message, now)
    return messages
