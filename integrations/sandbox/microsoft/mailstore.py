"""Changes to a mailbox: every write goes through here so the change log (which delta reads)
and subscriptions (which push notifications) see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.records import (
    ChangeEntry,
    Folder,
    Mailbox,
    StoredEvent,
    StoredMessage,
)
from integrations.sandbox.microsoft.state import MicrosoftState

# The generator's folder names and Exchange's well-known folders.
GENERATOR_FOLDERS = {
    "inbox": "inbox",
    "sent": "sentitems",
    "archive": "archive",
    "spam": "junkemail",
    "trash": "deleteditems",
    "drafts": "drafts",
}


def graph_datetime(moment: datetime) -> str:
    """Graph's DateTimeOffset with milliseconds: 2024-03-19T22:11:09.952Z."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _next_seq(mailbox: Mailbox) -> int:
    mailbox.seq += 1
    return mailbox.seq


def _log(mailbox: Mailbox, entry: ChangeEntry) -> None:
    mailbox.log.append(entry)


def add_message(
    state: MicrosoftState,
    mailbox: Mailbox,
    *,
    raw: bytes,
    folder: Folder,
    received_at: datetime,
    is_read: bool,
    is_draft: bool = False,
    flag_status: str = "notFlagged",
    categories: list[str] | None = None,
    notify: bool = True,
) -> StoredMessage:
    now = state.now()
    seq = _next_seq(mailbox)
    message = StoredMessage(
        immutable_id=ids.immutable_item_id(mailbox.oid),
        rest_id=ids.rest_item_id(mailbox.oid),
        folder_id=folder.id,
        raw=raw,
        received_at=received_at,
        created_at=min(now, received_at) if not is_draft else now,
        modified_at=now,
        is_read=is_read,
        is_draft=is_draft,
        flag_status=flag_status,
        categories=list(categories or []),
        change_key=ids.change_key(),
        seq=seq,
    )
    mailbox.messages[message.immutable_id] = message
    mailbox._rest_index[message.rest_id] = message.immutable_id
    _log(
        mailbox,
        ChangeEntry(seq, "message", message.immutable_id, folder.id, "created", message.rest_id),
    )
    if notify:
        fan_out(state, mailbox, "messages", message, folder.id, "created")
    return message


def find_message(mailbox: Mailbox, item_id: str) -> StoredMessage | None:
    """A message by default (REST) id or immutable id; Graph accepts either in URLs."""
    found = mailbox.messages.get(item_id)
    if found is not None:
        return found
    immutable = mailbox._rest_index.get(item_id)
    return mailbox.messages.get(immutable) if immutable else None


def update_message(
    state: MicrosoftState, mailbox: Mailbox, message: StoredMessage, changes: dict[str, Any]
) -> None:
    """Apply property changes (is_read, flag_status, categories, raw); log and notify once."""
    for key, value in changes.items():
        if key == "raw":
            message.set_raw(value)
        else:
            setattr(message, key, value)
    message.modified_at = state.now()
    message.change_key = ids.change_key()
    message.seq = _next_seq(mailbox)
    _log(
        mailbox,
        ChangeEntry(
            message.seq,
            "message",
            message.immutable_id,
            message.folder_id,
            "updated",
            message.rest_id,
        ),
    )
    fan_out(state, mailbox, "messages", message, message.folder_id, "updated")


def move_message(
    state: MicrosoftState, mailbox: Mailbox, message: StoredMessage, destination: Folder
) -> StoredMessage:
    """Move to another folder. Exchange gives the item a new default id (not a new immutable id)."""
    if destination.id == message.folder_id:
        return message
    source = message.folder_id
    old_rest = message.rest_id
    removed_seq = _next_seq(mailbox)
    _log(
        mailbox,
        ChangeEntry(removed_seq, "message", message.immutable_id, source, "removed", old_rest),
    )
    fan_out(state, mailbox, "messages", message, source, "deleted")
    del mailbox._rest_index[old_rest]
    message.rest_id = ids.rest_item_id(mailbox.oid)
    mailbox._rest_index[message.rest_id] = message.immutable_id
    message.folder_id = destination.id
    message.modified_at = state.now()
    message.change_key = ids.change_key()
    message.seq = _next_seq(mailbox)
    _log(
        mailbox,
        ChangeEntry(
            message.seq, "message", message.immutable_id, destination.id, "created", message.rest_id
        ),
    )
    fan_out(state, mailbox, "messages", message, destination.id, "created")
    return message


def delete_message(state: MicrosoftState, mailbox: Mailbox, message: StoredMessage) -> None:
    seq = _next_seq(mailbox)
    _log(
        mailbox,
        ChangeEntry(
            seq, "message", message.immutable_id, message.folder_id, "removed", message.rest_id
        ),
    )
    fan_out(state, mailbox, "messages", message, message.folder_id, "deleted")
    mailbox._rest_index.pop(message.rest_id, None)
    del mailbox.messages[message.immutable_id]


def log_event_change(
    state: MicrosoftState, mailbox: Mailbox, event: StoredEvent, change: str
) -> None:
    """Record an event write (created | updated | removed) and notify event subscriptions."""
    if change != "created":
        event.change_key = ids.change_key()
        event.modified_at = state.now()
    event.seq = _next_seq(mailbox)
    _log(mailbox, ChangeEntry(event.seq, "event", event.id, "", change))
    fan_out(state, mailbox, "events", event, None, {"removed": "deleted"}.get(change, change))


def fan_out(
    state: MicrosoftState,
    mailbox: Mailbox,
    kind: str,
    item: Any,
    folder_id: str | None,
    change_type: str,
) -> None:
    """POST a change notification to every live subscription watching this item's collection."""
    now = state.now()
    user = state.users.get(mailbox.oid)
    for sub in list(state.subscriptions.values()):
        if sub.mailbox_oid != mailbox.oid or sub.kind != kind or sub.expiration <= now:
            continue
        if change_type not in sub.change_types:
            continue
        if sub.folder_id is not None and sub.folder_id != folder_id:
            continue
        if kind == "messages":
            item_id = item.immutable_id if sub.immutable_ids else item.rest_id
            collection, odata_type = "Messages", "#Microsoft.Graph.Message"
        else:
            item_id, collection, odata_type = item.id, "Events", "#Microsoft.Graph.Event"
        resource = f"Users/{mailbox.oid}/{collection}/{item_id}"
        notification = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_datetime(sub.expiration),
            "changeType": change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": odata_type,
                "@odata.id": resource,
                "@odata.etag": f'W/"{item.change_key}"',
                "id": item_id,
            },
            "clientState": sub.client_state,
            "tenantId": user.tenant_id if user else sub.tenant_id,
        }
        state.notify(
            sub.notification_url,
            headers={"Content-Type": "application/json"},
            body={"value": [notification]},
        )
