"""The Microsoft 365 mail driver: per-folder Graph delta for Inbox, Sent Items and Archive.

Cursors are Graph's own links: an ``@odata.nextLink`` mid-round (resumable at that page) or the
``@odata.deltaLink`` that ends a round; "" restarts the stream's initial listing. Delta items
carry the whole message, so pages come back with ``messages`` filled and ``fetch`` empty except
for the rare partial item. Attachments of a page are listed through ``$batch``
(graph_mail_lists); Graph JSON becomes dataclasses in graph_mail_parse.

A poll of an unchanged mailbox is one ``$batch`` holding the three delta requests: call
:meth:`GraphMailDriver.prefetch` with every stream's cursor before iterating ``changes()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from integrations.providers.base import ProviderError, ProviderUnavailable
from integrations.providers.mail import (
    ChangePage,
    CursorExpired,
    DriverContext,
    FetchFailure,
    FlagChange,
    FlagResult,
    RemoteAttachment,
    RemoteFlags,
    RemoteFolder,
    RemoteMessage,
    SyncWindow,
)
from integrations.providers.microsoft.graph import (
    IMMUTABLE_IDS,
    GraphClient,
    GraphRequest,
    GraphResult,
    path_segment,
)
from integrations.providers.microsoft.graph_mail_flags import write_flags
from integrations.providers.microsoft.graph_mail_lists import (
    Listed,
    list_attachments,
    list_folders,
)
from integrations.providers.microsoft.graph_mail_parse import (
    MESSAGE_SELECT,
    WELL_KNOWN_ROLES,
    flags_of,
    is_complete,
    message_from_json,
    wants_attachments,
)
from integrations.providers.mime import normalize_address

DEFAULT_PAGE_SIZE = 100
# Graph's names for a forgotten delta state (410 SyncStateNotFound), compared lower-case.
_EXPIRED_CODES = frozenset(
    {"syncstatenotfound", "syncstateinvalid", "errorinvalidsyncstatedata", "resyncrequired"}
)
_NO_ACCESS_CODES = frozenset(
    {"erroraccessdenied", "errorinvaliduser", "mailboxnotenabledforrestapi"}
)


class MailboxAccessDenied(ProviderError):
    """The grant cannot reach this mailbox (not a delegate of the shared mailbox, or gone)."""

    def __init__(self, address: str = "") -> None:
        where = f"the mailbox {address}" if address else "this mailbox"
        super().__init__(
            f"Microsoft 365 does not give this account access to {where}.",
            code="MailboxAccessDenied",
        )
        self.address = address


@dataclass(frozen=True)
class RemoteMailboxInfo:
    address: str
    display_name: str


def mailbox_path(ctx: DriverContext) -> str:
    return f"/users/{path_segment(ctx.mailbox_address)}" if ctx.shared else "/me"


def _raise_for(result: GraphResult, *, address: str, stream: str = "") -> None:
    """Map a Graph error answer to the driver's domain errors."""
    if result.ok:
        return
    code = result.error_code.lower()
    if stream and (result.status == 410 or code in _EXPIRED_CODES):
        raise CursorExpired(stream)
    if result.status in (403, 404) and code in _NO_ACCESS_CODES:
        raise MailboxAccessDenied(address)
    result.raise_for_error()


class GraphMailDriver:
    provider = "microsoft"
    streams: tuple[str, ...] = ("inbox", "sentitems", "archive")
    stream_roles: Mapping[str, str] = MappingProxyType({s: WELL_KNOWN_ROLES[s] for s in streams})

    def __init__(
        self,
        ctx: DriverContext,
        *,
        client: GraphClient | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        self.ctx = ctx
        self.client = client or GraphClient(token=ctx.token, renew=ctx.renew)
        self.mailbox = mailbox_path(ctx)
        self.page_size = page_size
        self.delta_headers = {
            "Prefer": f'IdType="ImmutableId", odata.maxpagesize={page_size}',
        }
        self._primed: dict[str, tuple[str, GraphResult]] = {}

    # -- folders ---------------------------------------------------------------------------------

    def folders(self) -> list[RemoteFolder]:
        return list_folders(self.client, self.mailbox, self._check)

    # -- changes ---------------------------------------------------------------------------------

    def start_url(self, stream: str, cursor: str | None, window: SyncWindow) -> str:
        """Where a stream's next request goes: its cursor, or an initial delta of the window."""
        if cursor:
            if not self.client.owns(cursor):  # e.g. MICROSOFT_GRAPH_URL changed since
                raise CursorExpired(stream)
            return cursor
        url = f"{self.mailbox}/mailFolders/{stream}/messages/delta?$select={MESSAGE_SELECT}"
        if window.since is not None:
            # Delta takes one filter, receivedDateTime ge|gt, and only on the initial request.
            since = window.since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            url += "&$filter=" + quote(f"receivedDateTime ge {since}", safe=":")
        return url

    def prefetch(self, *, cursors: Mapping[str, str | None], window: SyncWindow) -> None:
        """Send the first delta request of every stream in one ``$batch``.

        ``changes()`` then starts from those answers, so an unchanged mailbox costs one
        provider call per poll instead of one per folder. Optional: without it each stream
        makes its own first request. Raises what ``changes()`` raises for the batch call.

        A first sync (no stream has a cursor) primes nothing: its first pages are full
        listings, and batching them would hold back the first stored page until all three
        arrived, where the sync's pipeline fetches each while the one before is stored.
        """
        if not any(cursors.get(stream) for stream in self.streams):
            return
        requests: list[GraphRequest] = []
        for stream in self.streams:
            try:
                url = self.start_url(stream, cursors.get(stream), window)
            except CursorExpired:
                continue  # changes() raises it when the pipeline reaches that stream
            requests.append(GraphRequest(stream, url, headers=self.delta_headers))
        results = self.client.batch(requests)
        self._primed = {r.id: (r.url, results[r.id]) for r in requests}

    def changes(
        self, *, stream: str, cursor: str | None, window: SyncWindow
    ) -> Iterator[ChangePage]:
        if stream not in self.streams:
            raise ValueError(f"unknown Graph stream {stream!r}")
        url = self.start_url(stream, cursor, window)
        while True:
            body = self._delta_body(stream, url)
            if body is None:  # the folder does not exist in this mailbox
                yield ChangePage(stream=stream, cursor="", final=True)
                return
            page = self._page(stream, body)
            yield page
            if page.final:
                return
            url = page.cursor

    def _delta_body(self, stream: str, url: str) -> dict[str, Any] | None:
        primed_url, result = self._primed.pop(stream, ("", None))
        if result is None or primed_url != url or result.transient or result.status == 401:
            result = self.client.send(url, headers=self.delta_headers, what=f"delta {stream}")
        if result.status == 404 and result.error_code == "ErrorItemNotFound":
            return None
        self._check(result, stream=stream)
        if not isinstance(result.body, dict) or not isinstance(result.body.get("value"), list):
            raise ProviderUnavailable("Microsoft Graph sent a malformed delta page.")
        return result.body

    def _page(self, stream: str, body: dict[str, Any]) -> ChangePage:
        next_link = body.get("@odata.nextLink")
        cursor = next_link or body.get("@odata.deltaLink")
        if not isinstance(cursor, str) or not cursor:
            raise ProviderUnavailable("Microsoft Graph sent a delta page without a link.")
        complete: list[dict[str, Any]] = []
        removed: list[str] = []
        flags: list[RemoteFlags] = []
        fetch: list[str] = []
        for item in body["value"]:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if "@removed" in item:  # deleted, or moved out of this folder
                removed.append(str(item["id"]))
            elif is_complete(item):
                complete.append(item)
            else:
                partial = flags_of(item)
                if partial is not None:
                    flags.append(partial)
                else:
                    fetch.append(str(item["id"]))
        messages, unfinished = self._messages(complete)
        return ChangePage(
            stream=stream,
            cursor=cursor,
            final=not next_link,
            fetch=(*fetch, *unfinished),
            messages=tuple(messages),
            flags=tuple(flags),
            removed=tuple(removed),
        )

    def _attachments(self, items: list[dict[str, Any]]) -> Listed:
        """Attachments of the items that have any (hasAttachments misses inline-only ones)."""
        wanted = [item for item in items if wants_attachments(item)]
        return list_attachments(self.client, self.mailbox, wanted, self._check_access)

    def _messages(self, items: list[dict[str, Any]]) -> tuple[list[RemoteMessage], list[str]]:
        """Items as RemoteMessages with their attachments; ids left for ``fetch`` to retry."""
        listed = self._attachments(items)
        messages: list[RemoteMessage] = []
        unfinished: list[str] = []
        for item in items:
            item_id = str(item["id"])
            attachments = listed.get(item_id, ())
            if isinstance(attachments, GraphResult):
                unfinished.append(item_id)  # its attachments could not be listed this time
                continue
            try:
                messages.append(message_from_json(item, attachments))
            except (KeyError, TypeError, ValueError, AttributeError):
                unfinished.append(item_id)  # fetch() reports it as a failure: never dropped
        return messages, unfinished

    # -- attachments -----------------------------------------------------------------------------

    def fetch_attachment(self, *, provider_message_id: str, attachment: RemoteAttachment) -> bytes:
        if attachment.data is not None:
            return attachment.data
        if not attachment.provider_attachment_id:
            raise ProviderError("This attachment has no Graph id to download it by.")
        url = (
            f"{self.mailbox}/messages/{path_segment(provider_message_id)}/attachments/"
            f"{path_segment(attachment.provider_attachment_id)}/$value"
        )
        result = self.client.send(url, headers=IMMUTABLE_IDS, raw=True, what="attachment $value")
        self._check(result)
        return result.body if isinstance(result.body, bytes) else b""

    # -- fetch -----------------------------------------------------------------------------------

    def fetch(self, provider_ids: Sequence[str]) -> list[RemoteMessage | FetchFailure]:
        ids = list(provider_ids)
        results = self.client.batch(
            [
                GraphRequest(
                    str(n),
                    f"{self.mailbox}/messages/{path_segment(pid)}?$select={MESSAGE_SELECT}",
                    headers=IMMUTABLE_IDS,
                )
                for n, pid in enumerate(ids)
            ]
        )
        out: list[RemoteMessage | FetchFailure | None] = [None] * len(ids)
        items: dict[int, dict[str, Any]] = {}
        for n, pid in enumerate(ids):
            result = results[str(n)]
            if result.ok and isinstance(result.body, dict) and result.body.get("id"):
                items[n] = result.body
            else:
                out[n] = self._failure(pid, result)
        listed = self._attachments(list(items.values()))
        for n, item in items.items():
            attachments = listed.get(str(item["id"]), ())
            if isinstance(attachments, GraphResult):
                out[n] = self._failure(ids[n], attachments)
                continue
            try:
                out[n] = message_from_json(item, attachments)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                out[n] = FetchFailure(ids[n], f"unreadable message: {exc!r}", permanent=True)
        return [entry for entry in out if entry is not None]

    def _failure(self, provider_id: str, result: GraphResult) -> FetchFailure:
        self._check_access(result)
        code = result.error_code or "no error code"
        if result.status == 404 or code in ("ErrorItemNotFound", "ErrorInvalidIdMalformed"):
            return FetchFailure(provider_id, f"{result.status} {code}", permanent=True)
        return FetchFailure(provider_id, f"{result.status} {code}")

    # -- flags -----------------------------------------------------------------------------------

    def write_flags(self, changes: Sequence[FlagChange]) -> list[FlagResult]:
        return write_flags(self.client, self.mailbox, changes, self._check_access)

    # -- errors ----------------------------------------------------------------------------------

    def _check(self, result: GraphResult, *, stream: str = "") -> None:
        _raise_for(result, address=self.ctx.mailbox_address, stream=stream)

    def _check_access(self, result: GraphResult) -> None:
        """Per-item failures are kept, except losing the mailbox or the grant (raised)."""
        if result.status in (403, 404) and result.error_code.lower() in _NO_ACCESS_CODES:
            raise MailboxAccessDenied(self.ctx.mailbox_address)


def build_driver(ctx: DriverContext) -> GraphMailDriver:
    page_size = ctx.options.get("page_size", "")
    return GraphMailDriver(
        ctx, page_size=int(page_size) if page_size.isdigit() else DEFAULT_PAGE_SIZE
    )


def mailbox_access_check(
    ctx: DriverContext, *, client: GraphClient | None = None
) -> RemoteMailboxInfo:
    """Whether the grant reaches ``ctx``'s mailbox, and its owner's name: one ``$batch``.

    Reading the Inbox is the test (a directory read alone would pass for any colleague).
    Raises MailboxAccessDenied, InvalidGrant, ProviderThrottled, ProviderUnavailable.
    """
    client = client or GraphClient(token=ctx.token, renew=ctx.renew)
    owner = mailbox_path(ctx)
    results = client.batch(
        [
            GraphRequest("mailbox", f"{owner}/mailFolders/inbox?$select=id"),
            GraphRequest("user", f"{owner}?$select=displayName,mail,userPrincipalName"),
        ]
    )
    mailbox = results["mailbox"]
    if mailbox.status in (403, 404):
        raise MailboxAccessDenied(ctx.mailbox_address)
    _raise_for(mailbox, address=ctx.mailbox_address)
    user = results["user"].body if results["user"].ok else {}
    address = str(user.get("mail") or user.get("userPrincipalName") or ctx.mailbox_address)
    return RemoteMailboxInfo(
        address=normalize_address(address), display_name=str(user.get("displayName") or "")
    )
