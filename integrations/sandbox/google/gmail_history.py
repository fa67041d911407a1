"""users.history.list: the mailbox's change log after ``startHistoryId``.

Each record has an ``id`` and ``messages`` plus one of ``messagesAdded`` / ``messagesDeleted``
/ ``labelsAdded`` / ``labelsRemoved``. The answer's ``historyId`` is the mailbox's current id;
with no changes the answer is just ``{"historyId": ...}``. A ``startHistoryId`` from before the
oldest kept record (older than ``config.history_retention_seconds``, or expired through
``/_sandbox/google/users/{email}/expire-history``) answers 404: the client must fully resync.
"""

from __future__ import annotations

import bisect
from typing import Any

from integrations.sandbox.google.errors import bad_request, not_found
from integrations.sandbox.google.gmail_common import GmailCall, gmail_route
from integrations.sandbox.google.gmail_store import (
    HISTORY_TYPES,
    LABEL_ADDED,
    LABEL_REMOVED,
    MESSAGE_ADDED,
    MESSAGE_DELETED,
    HistoryRecord,
)

_KEYS = {
    MESSAGE_ADDED: "messagesAdded",
    MESSAGE_DELETED: "messagesDeleted",
    LABEL_ADDED: "labelsAdded",
    LABEL_REMOVED: "labelsRemoved",
}


def render_record(record: HistoryRecord) -> dict[str, Any]:
    reference = {"id": record.message_id, "threadId": record.thread_id}
    message = {**reference, "labelIds": record.label_ids} if record.label_ids else reference
    change: dict[str, Any] = {"message": message}
    if record.kind in (LABEL_ADDED, LABEL_REMOVED):
        change["labelIds"] = record.changed
    return {"id": str(record.id), "messages": [reference], _KEYS[record.kind]: [change]}


def _uint(call: GmailCall, name: str) -> int | None:
    text = call.arg(name)
    if text in (None, ""):
        return None
    try:
        value = int(text)
    except ValueError:
        raise bad_request(f"Invalid {name}") from None
    if value < 0:
        raise bad_request(f"Invalid {name}")
    return value


@gmail_route("GET", "/history", name="gmail.users.history.list")
def history_list(call: GmailCall) -> dict[str, Any]:
    start = _uint(call, "startHistoryId")
    if start is None:
        raise bad_request("Missing startHistoryId")
    types = {t for value in call.request.args("historyTypes") for t in value.split(",") if t}
    unknown = types - set(HISTORY_TYPES)
    if unknown:
        raise bad_request(f"Invalid value at 'history_types': \"{sorted(unknown)[0]}\"")
    label_id = call.arg("labelId")
    size = call.int_arg("maxResults", default=100, maximum=500)
    after = _uint(call, "pageToken")
    mailbox = call.mailbox
    mailbox.prune_history(call.now(), call.sandbox.config.history_retention_seconds)
    if start < mailbox.history_floor:
        raise not_found()
    floor = max(start, after or 0)
    records = []
    first = bisect.bisect_right(mailbox.history, floor, key=lambda r: r.id)
    for record in mailbox.history[first:]:
        if types and record.kind not in types:
            continue
        if label_id and label_id not in record.label_ids and label_id not in record.changed:
            continue
        records.append(record)
        if len(records) > size:
            break
    body: dict[str, Any] = {}
    if records:
        body["history"] = [render_record(record) for record in records[:size]]
    if len(records) > size:
        body["nextPageToken"] = str(records[size - 1].id)
    body["historyId"] = str(mailbox.history_id)
    return body
