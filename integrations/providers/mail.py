"""The provider-neutral mail interface the sync engine drives. Drivers only translate.

A driver lists changes page by page from a cursor, fetches full messages in provider batches,
and raises the domain errors below; the pipeline (integrations.mail.sync) does everything else:
upserts, matching, cursor saving, locking, backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from integrations.providers.base import ProviderError

FOLDER_ROLES = ("inbox", "sent", "archive", "drafts", "spam", "trash", "other")


@dataclass(frozen=True)
class RemoteAddress:
    address: str  # normalized: trimmed, lower-case
    name: str = ""


@dataclass(frozen=True)
class RemoteFolder:
    provider_id: str  # Gmail label id / Graph folder id
    name: str
    role: str  # one of FOLDER_ROLES


@dataclass(frozen=True)
class RemoteAttachment:
    filename: str
    content_type: str
    size: int
    provider_attachment_id: str = ""  # fetch later with MailDriver.fetch_attachment
    part_id: str = ""
    content_id: str = ""  # without angle brackets
    is_inline: bool = False
    data: bytes | None = None  # present when the provider sent it inline with the message


@dataclass(frozen=True)
class RemoteMessage:
    """One message as a mailbox holds it, normalized."""

    provider_id: str
    provider_thread_id: str
    rfc_message_id: str  # "<id@host>" as sent, or "" when the message has none
    subject: str
    sent_at: datetime  # aware UTC; the Date header, else the received time
    received_at: datetime  # aware UTC; when the mailbox got it
    sender: RemoteAddress | None
    to: tuple[RemoteAddress, ...] = ()
    cc: tuple[RemoteAddress, ...] = ()
    bcc: tuple[RemoteAddress, ...] = ()
    reply_to: tuple[RemoteAddress, ...] = ()
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    text_body: str = ""
    html_body: str = ""
    snippet: str = ""
    size: int = 0
    folder_ids: tuple[str, ...] = ()
    is_read: bool = False
    is_starred: bool = False
    attachments: tuple[RemoteAttachment, ...] = ()


@dataclass(frozen=True)
class RemoteFlags:
    """A change of folders/labels or flags only, without the content."""

    provider_id: str
    folder_ids: tuple[str, ...]
    is_read: bool
    is_starred: bool


@dataclass(frozen=True)
class FetchFailure:
    provider_id: str
    reason: str
    permanent: bool = False  # e.g. 404: the message is gone; don't retry


@dataclass(frozen=True)
class FlagChange:
    """Flags to set on one message at the provider; ``None`` leaves that flag alone.

    ``archived`` True takes the message out of the inbox (Gmail: removes INBOX; Graph: moves it
    to the Archive folder), False puts it back (adds INBOX; moves it to the Inbox).
    """

    provider_id: str
    is_read: bool | None = None
    is_starred: bool | None = None
    archived: bool | None = None


@dataclass(frozen=True)
class FlagResult:
    """What became of one FlagChange: written, refused for good (``permanent``), or neither
    (a temporary failure: write it again later)."""

    provider_id: str
    written: bool
    permanent: bool = False  # e.g. 404: the message is gone; never retry
    reason: str = ""


@dataclass(frozen=True)
class ChangePage:
    """One page of changes in one cursor stream (``stream``: "" mailbox-wide, or a folder).

    ``cursor`` is where to resume after this page: save it only once everything the page names
    is committed. ``final`` marks the last page of the stream for this run.
    """

    stream: str
    cursor: str
    final: bool
    fetch: tuple[str, ...] = ()  # provider ids whose content to fetch (new, or changed content)
    messages: tuple[RemoteMessage, ...] = ()  # already complete (Graph delta items)
    flags: tuple[RemoteFlags, ...] = ()
    removed: tuple[str, ...] = ()  # provider ids gone from the mailbox (or from synced folders)
    total_estimate: int | None = None


@dataclass(frozen=True)
class SyncWindow:
    """What an initial or full sync covers."""

    since: datetime | None  # None: everything
    include_categories: bool = False  # Gmail promotions/social/forums/updates


class CursorExpired(ProviderError):
    """The provider forgot the cursor (Gmail 404 historyId, Graph 410 syncStateNotFound)."""

    def __init__(self, stream: str = "") -> None:
        super().__init__(
            "The provider's change cursor expired; a full resync is needed.", code="CursorExpired"
        )
        self.stream = stream


class ProviderThrottled(ProviderError):
    """429 / 403 rate limit: wait ``retry_after`` seconds (from Retry-After, else backoff)."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("The provider is throttling requests.", code="ProviderThrottled")
        self.retry_after = retry_after


class MailDriver(Protocol):
    provider: str
    # Cursor streams, e.g. ("",) for Gmail, ("inbox", "sentitems", "archive") for Graph.
    streams: tuple[str, ...]
    # Folder role of each folder-scoped stream (Graph): a removal there means the message left
    # that folder (perhaps for another synced one), not that it was deleted.
    stream_roles: Mapping[str, str]

    def folders(self) -> list[RemoteFolder]: ...

    def changes(
        self, *, stream: str, cursor: str | None, window: SyncWindow
    ) -> Iterator[ChangePage]:
        """Pages of changes since ``cursor``; with no cursor, the initial listing of ``window``.

        Raises CursorExpired, ProviderThrottled, InvalidGrant, ProviderUnavailable.
        """
        ...

    def fetch(self, provider_ids: Sequence[str]) -> list[RemoteMessage | FetchFailure]:
        """Full messages, in provider batches (Gmail ≤ 50, Graph ≤ 20), in the given order."""
        ...

    def fetch_attachment(
        self, *, provider_message_id: str, attachment: RemoteAttachment
    ) -> bytes: ...

    def write_flags(self, changes: Sequence[FlagChange]) -> list[FlagResult]:
        """One FlagResult per change, in order. Transient failures that outlast the retries
        come back unwritten; raises InvalidGrant when the grant is gone."""
        ...


@dataclass(frozen=True)
class DriverContext:
    """What a driver is built from: the mailbox and a source of live access tokens.

    ``token()`` answers a current token (refreshed safely when near expiry); ``renew()`` forces
    a refresh after the provider answered 401. Both raise InvalidGrant when the grant is gone.
    """

    mailbox_address: str
    token: Callable[[], str]
    renew: Callable[[], str]
    shared: bool = False  # a shared mailbox reached through a delegate's grant
    options: dict[str, str] = field(default_factory=dict)


__all__ = [
    "ChangePage",
    "CursorExpired",
    "DriverContext",
    "FetchFailure",
    "FlagChange",
    "FlagResult",
    "MailDriver",
    "ProviderThrottled",
    "RemoteAddress",
    "RemoteAttachment",
    "RemoteFlags",
    "RemoteFolder",
    "RemoteMessage",
    "SyncWindow",
]
