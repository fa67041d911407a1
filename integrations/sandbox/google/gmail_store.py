"""One user's Gmail mailbox: messages, threads, labels and the history log.

Gmail's model, as the sandbox keeps it:

* A message is its raw RFC 5322 source plus ``labelIds``, ``threadId``, ``internalDate`` (ms) and
  ``historyId`` (the last history record that touched it). Ids are 16 lowercase hex digits; like
  Gmail's they grow with the internal date (``ms << 20`` plus a per-mailbox counter).
* A thread's id is the id of its first message. A new message joins a thread when it references
  (``References``/``In-Reply-To``) a message of that thread *and* its subject matches once
  "Re:"/"Fwd:" prefixes are stripped; otherwise it starts a thread.
* Every change appends a history record with a strictly increasing id (with gaps, as Gmail's
  documentation warns). Records older than the
  retention window are dropped; a ``startHistoryId`` from before the oldest kept record then
  answers 404, which tells clients to run a full sync.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Any

from integrations.sandbox.google.gmail_mime import (
    Envelope,
    ParsedMessage,
    normalized_subject,
    parse_envelope,
    parse_message,
)

FIRST_HISTORY_ID = 1000

# labels.list order and shape of Gmail's system labels (visibility only where Gmail sends it).
SYSTEM_LABELS: dict[str, dict[str, str]] = {
    "CHAT": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "SENT": {},
    "INBOX": {},
    "IMPORTANT": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "TRASH": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "DRAFT": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "SPAM": {"messageListVisibility": "hide", "labelListVisibility": "labelHide"},
    "CATEGORY_FORUMS": {},
    "CATEGORY_UPDATES": {},
    "CATEGORY_PERSONAL": {},
    "CATEGORY_PROMOTIONS": {},
    "CATEGORY_SOCIAL": {},
    "STARRED": {},
    "UNREAD": {},
}

MESSAGE_ADDED = "messageAdded"
MESSAGE_DELETED = "messageDeleted"
LABEL_ADDED = "labelAdded"
LABEL_REMOVED = "labelRemoved"
HISTORY_TYPES = (MESSAGE_ADDED, MESSAGE_DELETED, LABEL_ADDED, LABEL_REMOVED)


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    raw: bytes
    label_ids: list[str]
    internal_date: int  # epoch milliseconds
    history_id: int
    rfc822_id: str  # the Message-ID header, "<...>", or ""
    _envelope: Envelope | None = field(default=None, repr=False)
    _parsed: ParsedMessage | None = field(default=None, repr=False)

    @property
    def envelope(self) -> Envelope:
        if self._envelope is None:
            self._envelope = parse_envelope(self.raw)
        return self._envelope

    @property
    def parsed(self) -> ParsedMessage:
        if self._parsed is None:
            self._parsed = parse_message(self.raw, self.id)
        return self._parsed


@dataclass
class UserLabel:
    id: str
    name: str
    message_list_visibility: str | None = None
    label_list_visibility: str | None = None
    color: dict[str, str] | None = None


@dataclass
class HistoryRecord:
    id: int
    at: float  # sandbox epoch seconds, for retention
    kind: str  # one of HISTORY_TYPES
    message_id: str
    thread_id: str
    label_ids: list[str]  # the message's labels after the change
    changed: list[str]  # labels added or removed by a label change


@dataclass
class Watch:
    topic_name: str
    label_ids: list[str]
    action: str  # "include" | "exclude"
    expiration_ms: int


class Mailbox:
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.messages: dict[str, StoredMessage] = {}
        self.threads: dict[str, list[str]] = {}  # thread id -> message ids, oldest first
        self.by_rfc822: dict[str, list[str]] = {}
        self.labels: dict[str, UserLabel] = {}
        self.next_label_number = 1
        self.history_id = FIRST_HISTORY_ID
        self.history: list[HistoryRecord] = []
        self.history_floor = 0  # startHistoryId below this answers 404
        self.unpublished: list[HistoryRecord] = []  # not yet announced to a watch
        self.watch: Watch | None = None
        self.sequence = 0
        self._newest_first: list[StoredMessage] | None = None

    # -- reading -------------------------------------------------------------------------------

    def newest_first(self) -> list[StoredMessage]:
        """Messages ordered as Gmail lists them: internalDate descending, then id descending."""
        if self._newest_first is None:
            self._newest_first = sorted(
                self.messages.values(), key=lambda m: (m.internal_date, m.id), reverse=True
            )
        return self._newest_first

    def thread_messages(self, thread_id: str) -> list[StoredMessage]:
        return [self.messages[i] for i in self.threads.get(thread_id, [])]

    def label_exists(self, label_id: str) -> bool:
        return label_id in SYSTEM_LABELS or label_id in self.labels

    def label_by_name(self, name: str) -> UserLabel | None:
        folded = name.casefold()
        return next(
            (label for label in self.labels.values() if label.name.casefold() == folded), None
        )

    # -- writing -------------------------------------------------------------------------------

    def _new_id(self, internal_date: int) -> str:
        while True:
            self.sequence += 1
            low = zlib.crc32(f"{self.owner}:{self.sequence}".encode()) & 0xFFFFF
            candidate = f"{((internal_date << 20) | low) & 0xFFFFFFFFFFFFFFFF:016x}"
            if candidate not in self.messages:
                return candidate

    def find_thread(self, envelope: Envelope, requested: str | None = None) -> str | None:
        """The thread a new message joins: one it references whose subject matches, if any.

        Gmail quirk: an explicit ``threadId`` on send/insert is honoured only when the message
        also references that thread and has its subject; otherwise it starts a new thread.
        """
        subject = normalized_subject(envelope.subject)
        candidates: list[str] = []
        for reference in envelope.references:
            for message_id in self.by_rfc822.get(reference, []):
                message = self.messages[message_id]
                if normalized_subject(message.envelope.subject) == subject:
                    candidates.append(message.thread_id)
        if requested is not None:
            return requested if requested in candidates else None
        return candidates[-1] if candidates else None

    def add(
        self,
        raw: bytes,
        label_ids: list[str],
        internal_date: int,
        now: float,
        *,
        thread_id: str | None = None,
        requested_thread: str | None = None,
    ) -> StoredMessage:
        """Store a message (threading it unless ``thread_id`` says where) and record it."""
        envelope = parse_envelope(raw)
        message_id = self._new_id(internal_date)
        if thread_id is None or thread_id not in self.threads:
            thread_id = self.find_thread(envelope, requested_thread) or message_id
        message = StoredMessage(
            id=message_id,
            thread_id=thread_id,
            raw=raw,
            label_ids=list(dict.fromkeys(label_ids)),
            internal_date=internal_date,
            history_id=self.history_id,
            rfc822_id=envelope.message_id,
            _envelope=envelope,
        )
        self._index(message)
        self._record(MESSAGE_ADDED, message, [], now)
        return message

    def _index(self, message: StoredMessage) -> None:
        self.messages[message.id] = message
        self.threads.setdefault(message.thread_id, []).append(message.id)
        if message.rfc822_id:
            self.by_rfc822.setdefault(message.rfc822_id, []).append(message.id)
        self._newest_first = None

    def change_labels(
        self, message: StoredMessage, add: list[str], remove: list[str], now: float
    ) -> bool:
        """Apply a label change; one history record per direction. True if anything changed."""
        removed = [
            label
            for label in dict.fromkeys(remove)
            if label in message.label_ids and label not in add
        ]
        current = [label for label in message.label_ids if label not in removed]
        added = [label for label in dict.fromkeys(add) if label not in current]
        if not added and not removed:
            return False
        message.label_ids = current + added
        if added:
            self._record(LABEL_ADDED, message, added, now)
        if removed:
            self._record(LABEL_REMOVED, message, removed, now)
        return True

    def delete(self, message: StoredMessage, now: float) -> None:
        del self.messages[message.id]
        siblings = self.threads[message.thread_id]
        siblings.remove(message.id)
        if not siblings:
            del self.threads[message.thread_id]
        if message.rfc822_id:
            same = self.by_rfc822[message.rfc822_id]
            same.remove(message.id)
            if not same:
                del self.by_rfc822[message.rfc822_id]
        self._newest_first = None
        self._record(MESSAGE_DELETED, message, [], now)

    def _next_history_id(self) -> int:
        # Gmail's history ids grow with random gaps; clients that assume +1 must break here too.
        self.history_id += 1 + zlib.crc32(f"{self.owner}#{self.history_id}".encode()) % 5
        return self.history_id

    def _record(self, kind: str, message: StoredMessage, changed: list[str], now: float) -> None:
        self._next_history_id()
        record = HistoryRecord(
            self.history_id,
            now,
            kind,
            message.id,
            message.thread_id,
            list(message.label_ids),
            list(changed),
        )
        message.history_id = record.id
        self.history.append(record)
        self.unpublished.append(record)

    def create_label(
        self,
        name: str,
        message_list_visibility: str | None,
        label_list_visibility: str | None,
        color: dict[str, str] | None,
    ) -> UserLabel:
        label = UserLabel(
            f"Label_{self.next_label_number}",
            name,
            message_list_visibility,
            label_list_visibility,
            color,
        )
        self.next_label_number += 1
        self.labels[label.id] = label
        return label

    # -- history retention ---------------------------------------------------------------------

    def prune_history(self, now: float, retention_seconds: float) -> None:
        cutoff = now - retention_seconds
        keep = 0
        while keep < len(self.history) and self.history[keep].at < cutoff:
            keep += 1
        if keep:
            self.history_floor = max(self.history_floor, self.history[keep - 1].id)
            del self.history[:keep]

    def expire_history(self) -> int:
        """Forget every record: every historyId issued so far now answers 404."""
        self.history.clear()
        self.history_floor = self._next_history_id()
        return self.history_id

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "messages": [
                [
                    m.id,
                    m.thread_id,
                    base64.b64encode(m.raw).decode("ascii"),
                    m.label_ids,
                    m.internal_date,
                    m.history_id,
                    m.rfc822_id,
                ]
                for m in self.messages.values()
            ],
            "labels": [vars(label).copy() for label in self.labels.values()],
            "next_label_number": self.next_label_number,
            "history_id": self.history_id,
            "history": [
                [r.id, r.at, r.kind, r.message_id, r.thread_id, r.label_ids, r.changed]
                for r in self.history
            ],
            "history_floor": self.history_floor,
            "watch": vars(self.watch).copy() if self.watch else None,
            "sequence": self.sequence,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mailbox:
        box = cls(data["owner"])
        for mid, tid, raw, labels, internal, history_id, rfc822 in data.get("messages", []):
            box._index(
                StoredMessage(mid, tid, base64.b64decode(raw), labels, internal, history_id, rfc822)
            )
        box.labels = {label["id"]: UserLabel(**label) for label in data.get("labels", [])}
        box.next_label_number = data.get("next_label_number", 1)
        box.history_id = data.get("history_id", FIRST_HISTORY_ID)
        box.history = [HistoryRecord(*row) for row in data.get("history", [])]
        box.history_floor = data.get("history_floor", 0)
        box.watch = Watch(**data["watch"]) if data.get("watch") else None
        box.sequence = data.get("sequence", 0)
        return box
