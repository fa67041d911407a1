"""A first sync's download in a process of its own (Linux): the store keeps the interpreter.

    relay = ForkedDownload(driver, streams, cursors, window, deliver=..., organization=...)
    relay.start()    # forks the child; this thread relays its pages to ``deliver``

Downloading a page (HTTP, JSON decoding, translation to ``RemoteMessage``) is Python work of
about the size of storing it. In one process the download thread and the storing thread take
turns at the interpreter lock: each slows the other, and decoding a page's JSON holds the lock
for milliseconds at a time. Here a child forked from the run does the download with the
driver as the run built it (prefetched pages included) and sends each page back pickled; the
parent only unpickles.

The child never touches the database: it inherited the parent's connections, and using (or
closing) them would break the parent's session. It asks the parent for access tokens
(``TokenSource``), which this relay thread reads through the vault as the run would; a token
that cannot be had (``InvalidGrant``, a connection to reconnect) fails the child's call, and
the relay raises the parent's own exception where the run expects the download's error.
Only a first sync (no stream has a cursor) is worth a process: an incremental run's pages are
few and small.

The child ends with ``os._exit`` (nothing inherited is cleaned up twice) and dies with the
relay thread (``PR_SET_PDEATHSIG``), so a killed worker leaves no download behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import os
import pickle
import queue
import signal
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from operator import attrgetter
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection as db_connection

from crm.models import Organization
from crm.tenancy import tenant_context
from integrations.mail.sync import drivers
from integrations.providers.base import ProviderUnavailable
from integrations.providers.mail import (
    ChangePage,
    FetchFailure,
    MailDriver,
    RemoteAddress,
    RemoteAttachment,
    RemoteFlags,
    RemoteMessage,
    SyncWindow,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

PR_SET_PDEATHSIG = 1
# How often a relay waiting for the child checks whether it should stop.
POLL_SECONDS = 0.5


def download_forks(cursors: Mapping[str, Any]) -> bool:
    """Whether this run downloads in a child process: a first sync, on Linux, when enabled."""
    return (
        sys.platform.startswith("linux")
        and settings.MAIL_SYNC_DOWNLOAD_PROCESS
        and not any(cursors.values())
    )


class _TokenUnavailable(BaseException):
    """The parent could not give the child a token: its own exception is the run's error.
    A BaseException, so no driver mistakes it for a provider error and retries."""


class _ParentTokens:
    """The child's token source: asks the relay over the pipe, one question at a time (the
    download's threads may ask at once: each must read its own answer)."""

    def __init__(self, conn: Connection, sending: threading.Lock) -> None:
        self.conn = conn
        self.sending = sending
        self.asking = threading.Lock()

    def current(self, connection_id: int) -> str:
        return self._ask("current", connection_id)

    def renewed(self, connection_id: int) -> str:
        return self._ask("renewed", connection_id)

    def _ask(self, kind: str, connection_id: int) -> str:
        with self.asking:
            with self.sending:
                self.conn.send(("token", kind, connection_id))
            answer = self.conn.recv()
        if answer is None:
            raise _TokenUnavailable
        return str(answer)


# -- pages over the pipe -------------------------------------------------------------------------
# Pickled as they are, a page's dataclasses cost the parent five times more to unpickle than
# the same values as plain tuples (0.6 s against 0.1 s for a 20,000-message first sync): they
# travel as tuples of their fields, in field order, nested dataclasses likewise. An address
# travels once a page: its messages share its tuple (pickle writes a shared object once), and
# the parent makes one RemoteAddress of it.


@dataclasses.dataclass(frozen=True)
class _Codec:
    # The fields' values in field order, read in one call (an attrgetter: 0.07 s per 20,000
    # messages where reading dataclasses.fields() and getattr one by one took 0.16 s).
    values: Callable[[Any], tuple[Any, ...]]
    # (position, dataclass, is a tuple of them) of each field holding dataclasses.
    nested: tuple[tuple[int, type, bool], ...]
    # One value named several times shares one tuple within a page (small, immutable and
    # repeated: addresses).
    shared: bool = False


def _codec(cls: type, *, shared: bool = False) -> _Codec:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    nested: list[tuple[int, Any, bool]] = []
    for position, field in enumerate(fields):
        hint = hints[field.name]
        args = typing.get_args(hint)
        if dataclasses.is_dataclass(hint):
            nested.append((position, hint, False))
        elif typing.get_origin(hint) is tuple and args and dataclasses.is_dataclass(args[0]):
            nested.append((position, args[0], True))
        elif any(dataclasses.is_dataclass(arg) for arg in args):  # Optional[...]
            nested.append((position, next(a for a in args if dataclasses.is_dataclass(a)), False))
    if len(fields) < 2:  # attrgetter of one name returns the value, not a tuple
        raise TypeError(f"{cls.__name__} needs two fields or more to travel as a tuple")
    if shared and nested:
        raise TypeError(f"{cls.__name__} holds dataclasses: it cannot travel shared")
    return _Codec(attrgetter(*(field.name for field in fields)), tuple(nested), shared)


_CODECS: dict[type, _Codec] = {
    RemoteAddress: _codec(RemoteAddress, shared=True),
    **{
        cls: _codec(cls)
        for cls in (ChangePage, RemoteMessage, RemoteAttachment, RemoteFlags, FetchFailure)
    },
}


def _pack(value: Any, shared: dict[int, tuple[Any, ...]]) -> tuple[Any, ...]:
    codec = _CODECS[type(value)]
    if codec.shared:
        # By identity: the drivers hand the same address object to every message naming it,
        # and the page keeps each object alive while it is packed.
        packed = shared.get(id(value))
        if packed is None:
            packed = shared[id(value)] = codec.values(value)
        return packed
    packed = codec.values(value)
    if not codec.nested:
        return packed
    values = list(packed)
    for position, _, many in codec.nested:
        item = values[position]
        if many:
            values[position] = tuple([_pack(one, shared) for one in item])
        elif item is not None:
            values[position] = _pack(item, shared)
    return tuple(values)


def _unpack(cls: type[T], packed: tuple[Any, ...], shared: dict[tuple[Any, ...], Any]) -> T:
    codec = _CODECS[cls]
    if codec.shared:
        found = shared.get(packed)
        if found is None:
            found = shared[packed] = cls(*packed)
        return typing.cast(T, found)
    if not codec.nested:
        return cls(*packed)
    values = list(packed)
    for position, kind, many in codec.nested:
        item = values[position]
        if many:
            values[position] = tuple([_unpack(kind, one, shared) for one in item])
        elif item is not None:
            values[position] = _unpack(kind, item, shared)
    return cls(*values)


def _page_packed(page: ChangePage, fetched: Sequence[RemoteMessage | FetchFailure]) -> Any:
    shared: dict[int, tuple[Any, ...]] = {}
    return _pack(page, shared), [(type(one) is FetchFailure, _pack(one, shared)) for one in fetched]


def _page_unpacked(packed: Any) -> tuple[ChangePage, list[RemoteMessage | FetchFailure]]:
    page, fetched = packed
    shared: dict[tuple[Any, ...], Any] = {}
    return _unpack(ChangePage, page, shared), [
        _unpack(FetchFailure, one, shared) if failure else _unpack(RemoteMessage, one, shared)
        for failure, one in fetched
    ]


def stream_pages(
    driver: MailDriver,
    cursors: Mapping[str, Any],
    window: SyncWindow,
    *,
    fetch: Callable[[list[str]], list[Any]] | None = None,
) -> Iterator[tuple[str, tuple[ChangePage, list[Any]] | None]]:
    """The download, wherever it runs: each stream's pages in order, each with the messages
    it asked to fetch (``driver.fetch``, or ``fetch``), and ``(stream, None)`` at a stream's
    end. Each stream starts from its cursor as the run found it.

    The streams are interleaved, newest mail first: the next page comes from the stream whose
    pages so far reach the most recent date (one not started yet first). Listings come newest
    first, so the messages of a conversation in the inbox and in sent items arrive pages
    apart instead of a folder apart: the conversation is stored, and recounted, once or twice
    rather than once per folder, and every folder's newest mail is stored first. (Messages
    a ``fetch`` leaves unread carry no date: only a one-stream driver, Gmail, fetches so.)
    """
    pending = {
        stream: iter(driver.changes(stream=stream, cursor=cursors.get(stream), window=window))
        for stream in driver.streams
    }
    # The oldest date each stream's pages reached so far; None before its first message.
    reached: dict[str, datetime | None] = dict.fromkeys(pending)
    while pending:
        # max() keeps the streams' own order among equals: the first stream starts.
        stream = max(pending, key=lambda s: (reached[s] is None, reached[s] or _DAWN))
        page = next(pending[stream], None)
        if page is None:
            del pending[stream]
            yield stream, None
            continue
        fetched = (fetch or driver.fetch)(list(page.fetch)) if page.fetch else []
        dates = [m.received_at for m in page.messages]
        dates += [m.received_at for m in fetched if isinstance(m, RemoteMessage)]
        if dates:
            reached[stream] = min(dates)
        yield stream, (page, fetched)


_DAWN = datetime.min.replace(tzinfo=UTC)


class _Outbox(threading.Thread):
    """The child's sender: reads (``read``, for a driver that fetches messages unread), packs,
    pickles and sends what the download hands it, in order, while the download goes on.
    Packing and pickling a page (5 to 10 ms for 500 messages) then overlaps the request for
    the next page, instead of holding it back: Gmail's download waits for each listing page
    before it asks for the page's messages. Reading Gmail's messages here rather than in the
    batches' callbacks sends each connection's next batch as soon as its answer is in."""

    def __init__(
        self,
        conn: Connection,
        sending: threading.Lock,
        read: Callable[[Any], RemoteMessage | FetchFailure] | None = None,
    ) -> None:
        super().__init__(name="download-outbox", daemon=True)
        self.conn, self.sending, self.read = conn, sending, read
        # Two items ahead at most: the pipe and the relay's queue hold the rest back.
        self.items: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=2)

    def put(self, item: tuple[Any, ...]) -> None:
        self.items.put(item)

    def close(self) -> None:
        """Send what is left, then return."""
        self.items.put(None)
        self.join()

    def run(self) -> None:
        failed = False
        while (item := self.items.get()) is not None:
            if failed:
                continue  # taken, so the download never waits on a sender that gave up
            try:
                self._send(item)
            except BaseException as exc:  # the parent raises it in the run, and stops us
                failed = True
                with contextlib.suppress(BaseException):
                    self._send(("error", exc))

    def _send(self, item: tuple[Any, ...]) -> None:
        if item[0] == "page":
            page, fetched = item[2]
            if self.read is not None:
                fetched = list(map(self.read, fetched))
            item = ("page", item[1], _page_packed(page, fetched))
        with self.sending:
            try:
                self.conn.send(item)
            except Exception:  # an error that cannot be pickled: its words can
                if item[0] != "error":
                    raise
                failure = ProviderUnavailable(f"The download failed: {item[1]}")
                self.conn.send(("error", failure))


def _child(
    conn: Connection,
    driver: MailDriver,
    cursors: Mapping[str, Any],
    window: SyncWindow,
) -> None:
    """The download, in the child: every stream's pages, then ("done",) or the error."""
    sending = threading.Lock()
    drivers.token_source = _ParentTokens(conn, sending)
    # A driver that can fetch messages unread (Gmail) has them read by the outbox.
    fetch_unread = getattr(driver, "fetch_unread", None)
    outbox = _Outbox(conn, sending, read=getattr(driver, "read", None) if fetch_unread else None)
    outbox.start()
    try:
        for stream, item in stream_pages(driver, cursors, window, fetch=fetch_unread):
            outbox.put(("end", stream) if item is None else ("page", stream, item))
        outbox.put(("done",))
    except _TokenUnavailable:
        outbox.put(("token-unavailable",))
    except BaseException as exc:  # sent to the parent, which raises it in the run
        outbox.put(("error", exc))
    outbox.close()


def _child_setup() -> None:
    """The worker's signal handlers are not the child's; it dies with the relay thread."""
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(number, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ForkedDownload(threading.Thread):
    """Forks the download and relays what it sends: ``deliver((stream, item))`` for each page
    (``item`` = (page, fetched)) and ``deliver((stream, stream_end))`` after each stream, then
    ``finish(None)``, or ``finish(exc)`` on an error. Once ``stopped`` is set (``deliver``
    returns False then) the child is killed."""

    def __init__(
        self,
        *,
        driver: MailDriver,
        cursors: Mapping[str, Any],
        window: SyncWindow,
        organization: Organization,
        deliver: Callable[[tuple[str, Any]], bool],
        finish: Callable[[BaseException | None], None],
        stream_end: object,
        stopped: threading.Event,
        name: str,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.driver, self.cursors, self.window = driver, cursors, window
        self.organization = organization
        self.deliver, self.finish, self.stream_end = deliver, finish, stream_end
        self.stopped = stopped
        self.token_error: BaseException | None = None

    def run(self) -> None:
        try:
            ours, theirs = Pipe(duplex=True)
            pid = os.fork()
        except OSError:  # out of processes or memory: the run fails and is tried again later
            logger.exception("the mail download process could not start")
            self.finish(ProviderUnavailable("The mail download could not start."))
            return
        if pid == 0:  # the child
            try:
                ours.close()
                _child_setup()
                _child(theirs, self.driver, self.cursors, self.window)
            finally:
                os._exit(0)
        theirs.close()
        error: BaseException | None = None
        try:
            error = self._relay(ours)
        except BaseException as exc:
            error = exc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            ours.close()
            db_connection.close()
        self.finish(error)

    def _relay(self, conn: Connection) -> BaseException | None:
        while not self.stopped.is_set():
            if not conn.poll(POLL_SECONDS):
                continue
            try:
                message = pickle.loads(conn.recv_bytes())  # noqa: S301 - our own child's
            except EOFError:
                return ProviderUnavailable("The mail download stopped unexpectedly.")
            except Exception:  # e.g. an error whose class cannot be rebuilt from its pickle
                logger.exception("a message from the mail download could not be read")
                return ProviderUnavailable("The mail download failed.")
            kind = message[0]
            if kind == "token":
                conn.send(self._token(message[1], message[2]))
            elif kind == "page":
                if not self.deliver((message[1], _page_unpacked(message[2]))):
                    return None
            elif kind == "end":
                if not self.deliver((message[1], self.stream_end)):
                    return None
            elif kind == "done":
                return None
            elif kind == "token-unavailable":
                return self.token_error or ProviderUnavailable("No access token.")
            else:
                error: BaseException = message[1]
                return error
        return None

    def _token(self, kind: str, connection_id: int) -> str | None:
        """A token for the child, read as the run would; None (and the error kept) if none."""
        try:
            with tenant_context(self.organization):
                source = drivers.VaultTokens()
                if kind == "renewed":
                    return source.renewed(connection_id)
                return source.current(connection_id)
        except BaseException as exc:
            self.token_error = exc
            return None
