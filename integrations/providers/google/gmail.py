"""The Gmail mail driver: labels, changes (messages.list, then history.list), batched fetches.

One cursor stream (``""``): Gmail's historyId is mailbox-wide. See ``gmail_changes`` for the
cursor format and scope, ``gmail_batch`` for fetching and ``gmail_payload`` for normalization.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from integrations.providers.google import gmail_calls, gmail_flags
from integrations.providers.google.gmail_batch import FETCH_CONNECTIONS, converted, fetch_batched
from integrations.providers.google.gmail_changes import (
    decode_cursor,
    history_pages,
    listing_pages,
)
from integrations.providers.google.gmail_payload import b64url_bytes, message_from_resource
from integrations.providers.google.services import authorized_http, gmail_service
from integrations.providers.mail import (
    ChangePage,
    DriverContext,
    FetchFailure,
    FlagChange,
    FlagResult,
    RemoteAttachment,
    RemoteFolder,
    RemoteMessage,
    SyncWindow,
)
from integrations.providers.retry import DEFAULT_POLICY, RetryPolicy

SYSTEM_FOLDER_ROLES = {
    "INBOX": "inbox",
    "SENT": "sent",
    "DRAFT": "drafts",
    "SPAM": "spam",
    "TRASH": "trash",
}
SYSTEM_FOLDER_NAMES = {
    "INBOX": "Inbox",
    "SENT": "Sent",
    "DRAFT": "Drafts",
    "SPAM": "Spam",
    "TRASH": "Trash",
}
# Each round of a fetch only resends the calls that failed, so rounds are cheap: allow more of
# them than for a single call, which keeps a mailbox under heavy throttling converging.
FETCH_POLICY = RetryPolicy(attempts=10)
T = TypeVar("T")


@dataclass(frozen=True)
class UnreadMessage:
    """A fetched ``format=full`` resource, not yet normalized (``GmailDriver.read``)."""

    provider_id: str
    resource: dict[str, Any]


def _as_given(resource: dict[str, Any]) -> dict[str, Any]:
    return resource


class GmailDriver:
    provider = "google"
    streams: tuple[str, ...] = ("",)
    stream_roles: Mapping[str, str] = MappingProxyType({})  # history covers the whole mailbox

    def __init__(
        self,
        ctx: DriverContext,
        *,
        policy: RetryPolicy = DEFAULT_POLICY,
        fetch_policy: RetryPolicy = FETCH_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ctx = ctx
        self.http = authorized_http(ctx)
        # Message batches go over several connections at once (gmail_batch.over_connections).
        self.https = [self.http] + [authorized_http(ctx) for _ in range(FETCH_CONNECTIONS - 1)]
        self.service = gmail_service(ctx, self.http)
        # Building a resource re-creates all its methods from discovery: do it once.
        self.users = self.service.users()
        self.messages = self.users.messages()
        self.policy = policy
        self.fetch_policy = fetch_policy
        self.sleep = sleep

    def _execute(self, request: Any, what: str) -> Any:
        return gmail_calls.execute(request, what, policy=self.policy, sleep=self.sleep)

    def folders(self) -> list[RemoteFolder]:
        """INBOX, SENT, DRAFT, SPAM, TRASH and the user's labels. The other system labels
        (UNREAD, STARRED, IMPORTANT, CATEGORY_*, CHAT) are flags or tabs, not folders; they
        still appear in ``folder_ids``. Gmail has no archive folder: archived = no INBOX."""
        answer = self._execute(self.users.labels().list(userId="me"), "labels.list")
        folders = []
        for label in answer.get("labels") or ():
            label_id = str(label["id"])
            if label_id in SYSTEM_FOLDER_ROLES:
                role, name = SYSTEM_FOLDER_ROLES[label_id], SYSTEM_FOLDER_NAMES[label_id]
            elif label.get("type") == "user":
                role, name = "other", str(label.get("name") or label_id)
            else:
                continue
            folders.append(RemoteFolder(provider_id=label_id, name=name, role=role))
        return folders

    def changes(
        self, *, stream: str, cursor: str | None, window: SyncWindow
    ) -> Iterator[ChangePage]:
        common = {"users": self.users, "execute": self._execute, "stream": stream}
        if cursor is None:
            return listing_pages(window=window, **common)
        state = decode_cursor(cursor, stream)
        if state["phase"] == "list":
            return listing_pages(window=window, resume=state, **common)
        return history_pages(window=window, start=str(state["history_id"]), **common)

    def fetch(self, provider_ids: Sequence[str]) -> list[RemoteMessage | FetchFailure]:
        return self._batched(provider_ids, message_from_resource)

    def _batched(
        self, provider_ids: Sequence[str], convert: Callable[[dict[str, Any]], T]
    ) -> list[T | FetchFailure]:
        return fetch_batched(
            self.messages,
            self.https,
            provider_ids,
            convert=convert,
            policy=self.fetch_policy,
            sleep=self.sleep,
        )

    def fetch_unread(self, provider_ids: Sequence[str]) -> list[UnreadMessage | FetchFailure]:
        """``fetch`` with the messages left as Gmail gave them, for ``read`` to normalize.

        Normalizing a message (about as much CPU as receiving it) inside the batch's callback
        holds back that connection's next batch until the whole batch is read. A download
        process fetches with this and reads on a thread of its own, so both connections go
        back to Gmail as soon as their answers are in."""
        resources = self._batched(provider_ids, _as_given)
        return [
            found if isinstance(found, FetchFailure) else UnreadMessage(provider_id, found)
            for provider_id, found in zip(provider_ids, resources, strict=True)
        ]

    @staticmethod
    def read(fetched: UnreadMessage | FetchFailure) -> RemoteMessage | FetchFailure:
        """A ``fetch_unread`` item as ``fetch`` would have answered it."""
        if isinstance(fetched, FetchFailure):
            return fetched
        return converted(fetched.provider_id, fetched.resource, message_from_resource)

    def fetch_attachment(self, *, provider_message_id: str, attachment: RemoteAttachment) -> bytes:
        if not attachment.provider_attachment_id:
            # Small parts (e.g. a text part kept as an attachment) came inline with the message.
            return attachment.data or b""
        request = self.messages.attachments().get(
            userId="me", messageId=provider_message_id, id=attachment.provider_attachment_id
        )
        answer = self._execute(request, "messages.attachments.get")
        return b64url_bytes(str(answer.get("data") or ""))

    def write_flags(self, changes: Sequence[FlagChange]) -> list[FlagResult]:
        return gmail_flags.write_flags(self.messages, changes, self._execute)


def build_driver(ctx: DriverContext) -> GmailDriver:
    return GmailDriver(ctx)


__all__ = ["GmailDriver", "UnreadMessage", "build_driver"]
