"""Gmail's change stream: the initial ``messages.list`` of a window, then ``history.list``.

Cursors are JSON. During the initial listing: ``{"phase": "list", "page_token", "history_id",
"q"}`` — the historyId read *before* listing started (so nothing that changes while we list
is missed) and the query as it was, so a listing interrupted at page 7 resumes at page 7 with
the same window. Afterwards: ``{"phase": "history", "history_id"}``. Mid-way through history
pages the cursor holds the id of the last record handled: Gmail returns records *after*
``startHistoryId``, so resuming from it needs no page token.

Synced scope: everything but Spam and Trash, and (unless the window includes them) the
Promotions, Social, Forums and Updates tabs. Gmail has no archive folder: archiving only
removes INBOX, which is a label change like any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from integrations.providers.base import ProviderError
from integrations.providers.mail import ChangePage, CursorExpired, RemoteFlags, SyncWindow

PAGE_SIZE = 500
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
HIDDEN_LABELS = frozenset({"SPAM", "TRASH"})
CATEGORIES = {
    "promotions": "CATEGORY_PROMOTIONS",
    "social": "CATEGORY_SOCIAL",
    "forums": "CATEGORY_FORUMS",
    "updates": "CATEGORY_UPDATES",
}
EXCLUDED_CATEGORY_LABELS = frozenset(CATEGORIES.values())

Execute = Callable[[Any, str], Any]

_FETCH, _FLAGS, _REMOVE = "fetch", "flags", "remove"


def listing_query(window: SyncWindow) -> str:
    terms = []
    if window.since is not None:
        # Epoch seconds are exact in Gmail's search; a date would mean Pacific midnight.
        terms.append(f"after:{int(window.since.timestamp())}")
    terms += ["-in:spam", "-in:trash"]
    if not window.include_categories:
        terms += [f"-category:{name}" for name in CATEGORIES]
    return " ".join(terms)


def _excluded_labels(include_categories: bool) -> frozenset[str]:
    return HIDDEN_LABELS if include_categories else HIDDEN_LABELS | EXCLUDED_CATEGORY_LABELS


def encode_cursor(**fields: Any) -> str:
    return json.dumps({k: v for k, v in fields.items() if v is not None}, separators=(",", ":"))


def decode_cursor(cursor: str, stream: str) -> dict[str, Any]:
    """A cursor this driver wrote; anything else can only be recovered by a full resync."""
    try:
        state = json.loads(cursor)
    except ValueError:
        raise CursorExpired(stream) from None
    if not isinstance(state, dict) or not state.get("history_id"):
        raise CursorExpired(stream)
    if state.get("phase") == "list" and state.get("page_token") and "q" in state:
        return state
    if state.get("phase") == "history":
        return state
    raise CursorExpired(stream)


def listing_pages(
    *,
    users: Any,
    execute: Execute,
    stream: str,
    window: SyncWindow,
    resume: dict[str, Any] | None = None,
) -> Iterator[ChangePage]:
    """The initial listing, from the start or from a ``phase: list`` cursor."""
    if resume is None:
        history_id = str(execute(users.getProfile(userId="me"), "users.getProfile")["historyId"])
        query, token = listing_query(window), None
    else:
        history_id, query, token = str(resume["history_id"]), str(resume["q"]), resume["page_token"]
    messages = users.messages()
    while True:
        params: dict[str, Any] = {"userId": "me", "maxResults": PAGE_SIZE}
        if query:
            params["q"] = query
        if token:
            params["pageToken"] = token
        page = execute(messages.list(**params), "messages.list")
        token = page.get("nextPageToken")
        cursor = (
            encode_cursor(phase="list", page_token=token, history_id=history_id, q=query)
            if token
            else encode_cursor(phase="history", history_id=history_id)
        )
        yield ChangePage(
            stream=stream,
            cursor=cursor,
            final=not token,
            fetch=tuple(str(m["id"]) for m in page.get("messages") or ()),
            total_estimate=page.get("resultSizeEstimate"),
        )
        if not token:
            return


def history_pages(
    *, users: Any, execute: Execute, stream: str, window: SyncWindow, start: str
) -> Iterator[ChangePage]:
    """Changes after ``start``; an unchanged mailbox is exactly one history.list call."""
    history = users.history()
    excluded = _excluded_labels(window.include_categories)
    token = None
    while True:
        params: dict[str, Any] = {
            "userId": "me",
            "startHistoryId": start,
            "historyTypes": HISTORY_TYPES,
            "maxResults": PAGE_SIZE,
        }
        if token:
            params["pageToken"] = token
        try:
            page = execute(history.list(**params), "history.list")
        except ProviderError as error:
            if error.code == "NotFound":  # Gmail forgot this historyId: full resync needed
                raise CursorExpired(stream) from error
            raise
        records = page.get("history") or []
        token = page.get("nextPageToken")
        if token:
            last = str(records[-1]["id"]) if records else start
        else:
            last = str(page["historyId"])
        fetch, flags, removed = translate_history(records, excluded)
        yield ChangePage(
            stream=stream,
            cursor=encode_cursor(phase="history", history_id=last),
            final=not token,
            fetch=fetch,
            flags=flags,
            removed=removed,
        )
        if not token:
            return


def _changes(record: dict[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for key in ("messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"):
        for change in record.get(key) or ():
            yield key, change


def _action(key: str, change: dict[str, Any], excluded: frozenset[str]) -> str | None:
    """What one history change means for the synced copy (None: not ours, ignore)."""
    if key == "messagesDeleted":
        return _REMOVE
    labels = change["message"].get("labelIds") or ()
    if not excluded.isdisjoint(labels):
        # Moved into Spam/Trash or an excluded tab: gone from the synced scope.
        return None if key == "messagesAdded" else _REMOVE
    if key == "messagesAdded":
        return _FETCH
    if not excluded.isdisjoint(change.get("labelIds") or ()):
        # Out of Spam/Trash/an excluded tab: the pipeline never had it, fetch the content.
        return _FETCH
    return _FLAGS


def translate_history(
    records: list[dict[str, Any]], excluded: frozenset[str]
) -> tuple[tuple[str, ...], tuple[RemoteFlags, ...], tuple[str, ...]]:
    """(ids to fetch, flag changes, removed ids) of one page; each id lands in one of them,
    as its last change in the page says (the record's ``labelIds`` are the labels after it)."""
    actions: dict[str, str] = {}
    labels: dict[str, tuple[str, ...]] = {}
    for record in records:
        for key, change in _changes(record):
            message = change.get("message") or {}
            message_id = str(message.get("id") or "")
            if not message_id:
                continue
            action = _action(key, change, excluded)
            previous = actions.get(message_id)
            if action is None:
                if previous is None:
                    continue
                action = _REMOVE
            elif action == _FLAGS and previous in (_FETCH, _REMOVE):
                # A fetch reads the current labels anyway; after a removal, be safe and refetch.
                action = _FETCH
            actions[message_id] = action
            labels[message_id] = tuple(message.get("labelIds") or ())
    fetch = tuple(mid for mid, action in actions.items() if action == _FETCH)
    removed = tuple(mid for mid, action in actions.items() if action == _REMOVE)
    flags = tuple(
        RemoteFlags(
            provider_id=mid,
            folder_ids=labels[mid],
            is_read="UNREAD" not in labels[mid],
            is_starred="STARRED" in labels[mid],
        )
        for mid, action in actions.items()
        if action == _FLAGS
    )
    return fetch, flags, removed
