"""users.labels: list, get (with message and thread counts), create, update, patch, delete.

System labels (INBOX, SENT, UNREAD, CATEGORY_*...) have ids equal to their names and cannot be
created, renamed or deleted; user labels get ids ``Label_<n>``. ``labels.list`` carries no
counts; ``labels.get`` adds messagesTotal/messagesUnread/threadsTotal/threadsUnread.
"""

from __future__ import annotations

from typing import Any

from integrations.sandbox.google.errors import abort, bad_request, not_found
from integrations.sandbox.google.gmail_common import GmailCall, gmail_route
from integrations.sandbox.google.gmail_store import SYSTEM_LABELS, Mailbox, UserLabel
from integrations.sandbox.http import Response

_LABEL_FIELDS = {
    "id",
    "name",
    "messageListVisibility",
    "labelListVisibility",
    "type",
    "color",
    "messagesTotal",
    "messagesUnread",
    "threadsTotal",
    "threadsUnread",
}
_MESSAGE_VISIBILITY = ("show", "hide")
_LABEL_VISIBILITY = ("labelShow", "labelShowIfUnread", "labelHide")
# Names Gmail reserves besides the system label ids themselves.
_RESERVED_NAMES = {
    name.casefold()
    for name in (
        *SYSTEM_LABELS,
        "Chats",
        "Drafts",
        "Sent Mail",
        "All Mail",
        "Starred",
        "Important",
        "Muted",
    )
}


def label_resource(mailbox: Mailbox, label_id: str) -> dict[str, Any]:
    if label_id in SYSTEM_LABELS:
        return {"id": label_id, "name": label_id, **SYSTEM_LABELS[label_id], "type": "system"}
    label = mailbox.labels[label_id]
    body: dict[str, Any] = {"id": label.id, "name": label.name}
    if label.message_list_visibility:
        body["messageListVisibility"] = label.message_list_visibility
    if label.label_list_visibility:
        body["labelListVisibility"] = label.label_list_visibility
    if label.color:
        body["color"] = dict(label.color)
    body["type"] = "user"
    return body


def _counts(mailbox: Mailbox, label_id: str) -> dict[str, int]:
    messages = unread = 0
    threads: set[str] = set()
    unread_threads: set[str] = set()
    for message in mailbox.messages.values():
        if label_id not in message.label_ids:
            continue
        messages += 1
        threads.add(message.thread_id)
        if "UNREAD" in message.label_ids:
            unread += 1
            unread_threads.add(message.thread_id)
    return {
        "messagesTotal": messages,
        "messagesUnread": unread,
        "threadsTotal": len(threads),
        "threadsUnread": len(unread_threads),
    }


def _label(mailbox: Mailbox, label_id: str) -> str:
    if not mailbox.label_exists(label_id):
        raise not_found()
    return label_id


def _user_label(mailbox: Mailbox, label_id: str) -> UserLabel:
    if label_id in SYSTEM_LABELS:
        raise bad_request("Invalid update request")
    label = mailbox.labels.get(label_id)
    if label is None:
        raise not_found()
    return label


def _apply(
    mailbox: Mailbox, label: UserLabel | None, body: dict[str, Any], *, partial: bool
) -> dict[str, Any]:
    """Validate ``body`` against Gmail's rules; the checked values to store."""
    name = body.get("name", label.name if label and partial else None)
    if not isinstance(name, str) or not name.strip():
        raise bad_request("Invalid label name")
    name = name.strip()
    if name.casefold() in _RESERVED_NAMES:
        raise bad_request("Invalid label name")
    clash = mailbox.label_by_name(name)
    if clash is not None and (label is None or clash.id != label.id):
        raise abort(409, "Label name exists or conflicts", reason="alreadyExists")
    values: dict[str, Any] = {"name": name}
    for key, attr, allowed in (
        ("messageListVisibility", "message_list_visibility", _MESSAGE_VISIBILITY),
        ("labelListVisibility", "label_list_visibility", _LABEL_VISIBILITY),
    ):
        value = body.get(key, getattr(label, attr) if label and partial else None)
        if value is not None and value not in allowed:
            raise bad_request(f"Invalid value at 'label.{key}': \"{value}\"")
        values[attr] = value
    color = body.get("color", label.color if label and partial else None)
    if color is not None and (
        not isinstance(color, dict) or set(color) - {"textColor", "backgroundColor"}
    ):
        raise bad_request("Invalid label color")
    values["color"] = color
    return values


@gmail_route("GET", "/labels", name="gmail.users.labels.list")
def labels_list(call: GmailCall) -> dict[str, Any]:
    mailbox = call.mailbox
    ids = [*SYSTEM_LABELS, *mailbox.labels]
    return {"labels": [label_resource(mailbox, label_id) for label_id in ids]}


@gmail_route("GET", "/labels/(?P<id>[^/]+)", name="gmail.users.labels.get")
def labels_get(call: GmailCall) -> dict[str, Any]:
    mailbox = call.mailbox
    label_id = _label(mailbox, call.request.params["id"])
    return {**label_resource(mailbox, label_id), **_counts(mailbox, label_id)}


@gmail_route("POST", "/labels", name="gmail.users.labels.create")
def labels_create(call: GmailCall) -> dict[str, Any]:
    mailbox = call.mailbox
    values = _apply(mailbox, None, call.json_body(_LABEL_FIELDS), partial=False)
    label = mailbox.create_label(
        values["name"],
        values["message_list_visibility"],
        values["label_list_visibility"],
        values["color"],
    )
    return label_resource(mailbox, label.id)


def _update(call: GmailCall, *, partial: bool) -> dict[str, Any]:
    mailbox = call.mailbox
    label = _user_label(mailbox, call.request.params["id"])
    values = _apply(mailbox, label, call.json_body(_LABEL_FIELDS), partial=partial)
    for attr, value in values.items():
        setattr(label, attr, value)
    return label_resource(mailbox, label.id)


@gmail_route("PUT", "/labels/(?P<id>[^/]+)", name="gmail.users.labels.update")
def labels_update(call: GmailCall) -> dict[str, Any]:
    return _update(call, partial=False)


@gmail_route("PATCH", "/labels/(?P<id>[^/]+)", name="gmail.users.labels.patch")
def labels_patch(call: GmailCall) -> dict[str, Any]:
    return _update(call, partial=True)


@gmail_route("DELETE", "/labels/(?P<id>[^/]+)", name="gmail.users.labels.delete")
def labels_delete(call: GmailCall) -> Response:
    mailbox = call.mailbox
    label = _user_label(mailbox, call.request.params["id"])
    now = call.now()
    for message in list(mailbox.messages.values()):
        if label.id in message.label_ids:
            mailbox.change_labels(message, [], [label.id], now)
    del mailbox.labels[label.id]
    return Response.empty()
