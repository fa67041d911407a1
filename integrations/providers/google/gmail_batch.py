"""``messages.get(format="full")`` through Gmail batch requests, retrying only the failed calls.

Google answers each call of a batch on its own: one batch can hold 47 messages, two 429s and a
500. Each round sends the still-pending ids in batches of ≤ 50 (Gmail's advice; the endpoint
takes 100 but throttles large batches per user); after a round with transient failures the
driver waits (the longest Retry-After among them, else backoff) and sends only those again.
A 404 is final; what still fails after the last round becomes a FetchFailure for the pipeline's
retry list. A 401 inside a batch was already renewed and resent by BatchHttpRequest itself.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from django.db import connection as db_connection
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import HttpRequest

from integrations.providers.base import InvalidGrant, ProviderUnavailable
from integrations.providers.google.gmail_calls import (
    TRANSPORT_ERRORS,
    error_reason,
    is_transient,
    status_of,
)
from integrations.providers.google.services import gmail_batch
from integrations.providers.mail import FetchFailure, ProviderThrottled
from integrations.providers.retry import RetryPolicy, call_with_retries, retry_after_seconds

logger = logging.getLogger(__name__)

BATCH_SIZE = 50
# Batches in flight at once, each on its own connection.
FETCH_CONNECTIONS = 2
T = TypeVar("T")
_ID_MARK = "liaison-message-id"


def full_message_requests(messages: Any, ids: Sequence[str]) -> list[HttpRequest]:
    """``messages.get(userId="me", id=…, format="full")`` for each id. The discovery method
    builds the first (parameter checks, URI template, headers); the others are that request
    with their own id in the path, instead of checking and expanding the same parameters
    again for every message."""
    template = messages.get(userId="me", id=_ID_MARK, format="full")
    if template.uri.count(_ID_MARK) != 1 or template.body is not None:
        return [messages.get(userId="me", id=message_id, format="full") for message_id in ids]
    head, tail = template.uri.split(_ID_MARK)
    return [
        HttpRequest(
            template.http,
            template.postproc,
            f"{head}{quote(message_id, safe='')}{tail}",
            method=template.method,
            headers=dict(template.headers),
            methodId=template.methodId,
        )
        for message_id in ids
    ]


def over_connections(
    send: Callable[[list[str], Any], list[str]],
    chunks: Sequence[list[str]],
    https: Sequence[Any],
) -> list[list[str]]:
    """``send(chunk, http)`` of every chunk, in order of the chunks, with one batch in flight
    per connection (an httplib2 connection serves one request at a time): while this thread
    reads one answer, Google is already serving the next batch. The second connection's thread
    runs in this one's context (organization, token cache); the first error raised on either
    is raised here once both stopped."""
    if len(https) < 2 or len(chunks) < 2:
        return [send(chunk, https[0]) for chunk in chunks]
    todo: queue.SimpleQueue[tuple[int, list[str]]] = queue.SimpleQueue()
    for item in enumerate(chunks):
        todo.put(item)
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def work(http: Any) -> None:
        try:
            while not errors:
                try:
                    index, chunk = todo.get_nowait()
                except queue.Empty:
                    return
                results[index] = send(chunk, http)
        except BaseException as error:  # raised by the calling thread below
            errors.append(error)

    def helper(http: Any) -> None:
        try:
            work(http)
        finally:
            db_connection.close()  # the token may have been read on this thread's own

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(helper, http), daemon=True)
        for http in https[1:]
    ]
    for thread in threads:
        thread.start()
    work(https[0])
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [results[index] for index in range(len(chunks))]


def converted(
    message_id: str, resource: dict[str, Any], convert: Callable[[dict[str, Any]], T]
) -> T | FetchFailure:
    """``convert(resource)``, or the FetchFailure of a message that cannot be read."""
    try:
        return convert(resource)
    except Exception as error:
        # One message we cannot read must not stop the mailbox; the pipeline retries it.
        logger.exception("Gmail message %s could not be normalized", message_id)
        return FetchFailure(message_id, f"could not be normalized: {error!r}")


class _Round(Generic[T]):
    """The state of one fetch across retry rounds."""

    def __init__(
        self,
        messages: Any,
        https: Sequence[Any],
        convert: Callable[[dict[str, Any]], T],
        ids: list[str],
    ) -> None:
        self.messages = messages
        self.https = https
        self.convert = convert
        self.pending = ids
        self.results: dict[str, T | FetchFailure] = {}
        self.reasons: dict[str, str] = {}
        self.retry_after: float | None = None
        self.throttled = False

    def run(self) -> None:
        """Send every pending id once; raise a retryable error if some must go again."""
        self.retry_after, self.throttled = None, False
        chunks = [
            self.pending[offset : offset + BATCH_SIZE]
            for offset in range(0, len(self.pending), BATCH_SIZE)
        ]
        failed = [i for ids in over_connections(self._batch, chunks, self.https) for i in ids]
        self.pending = failed
        if not failed:
            return
        if self.throttled:
            raise ProviderThrottled(self.retry_after)
        raise ProviderUnavailable(f"Gmail failed {len(failed)} message fetches.")

    def _batch(self, ids: list[str], http: Any) -> list[str]:
        failed: list[str] = []

        def answered(request_id: str, response: Any, error: Exception | None) -> None:
            message_id = ids[int(request_id)]
            if error is None:
                self.results[message_id] = converted(message_id, response, self.convert)
            elif self._transient(message_id, error):
                failed.append(message_id)

        batch = gmail_batch(answered)
        for index, request in enumerate(full_message_requests(self.messages, ids)):
            batch.add(request, request_id=str(index))
        try:
            batch.execute(http=http)
        except HttpError as error:
            # The batch request itself failed: every call in it is still to do.
            if status_of(error) == 401:
                raise InvalidGrant(
                    "Google refused the access token even after renewing it."
                ) from error
            if not is_transient(status_of(error), error_reason(error)):
                for message_id in ids:
                    self._fail(message_id, f"batch answered {status_of(error)}")
                return []
            self._note_wait(error)
            return [m for m in ids if m not in self.results]
        except (BatchError, *TRANSPORT_ERRORS) as error:
            logger.info("Gmail batch failed in transport: %s", error)
            for message_id in ids:
                self.reasons[message_id] = f"batch failed: {type(error).__name__}"
            return [m for m in ids if m not in self.results]
        return failed

    def _transient(self, message_id: str, error: Exception) -> bool:
        """Record a failed call; True when it is worth sending again."""
        if not isinstance(error, HttpError):
            self._fail(message_id, f"{type(error).__name__}: {error}")
            return False
        status, reason = status_of(error), error_reason(error)
        if status == 401:
            raise InvalidGrant("Google refused the access token even after renewing it.")
        if status == 404:
            self.results[message_id] = FetchFailure(message_id, "not found", permanent=True)
            return False
        if not is_transient(status, reason):
            self._fail(message_id, f"{status} {reason}".strip())
            return False
        self.reasons[message_id] = f"{status} {reason}".strip()
        self._note_wait(error)
        return True

    def _note_wait(self, error: HttpError) -> None:
        status = status_of(error)
        if status in (429, 403):  # only rate-limit 403s are transient, so get here
            self.throttled = True
            wait = retry_after_seconds(error.resp.get("retry-after"))
            if wait is not None:
                self.retry_after = max(wait, self.retry_after or 0.0)

    def _fail(self, message_id: str, reason: str) -> None:
        self.results[message_id] = FetchFailure(message_id, reason)


def fetch_batched(
    messages: Any,
    https: Sequence[Any],
    provider_ids: Sequence[str],
    *,
    convert: Callable[[dict[str, Any]], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> list[T | FetchFailure]:
    """``convert(resource)`` of each id, in the given order, or its FetchFailure. The batches
    go over the ``https`` connections at once (``over_connections``)."""
    state = _Round(messages, https, convert, list(dict.fromkeys(provider_ids)))
    if state.pending:
        try:
            call_with_retries(state.run, policy=policy, sleep=sleep, what="Gmail message batch")
        except (ProviderThrottled, ProviderUnavailable):
            for message_id in state.pending:
                reason = state.reasons.get(message_id, "failed")
                state.results[message_id] = FetchFailure(message_id, f"still failing: {reason}")
    return [state.results[message_id] for message_id in provider_ids]
