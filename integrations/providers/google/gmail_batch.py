"""``messages.get(format="full")`` through Gmail batch requests, retrying only the failed calls.

Google answers each call of a batch on its own: one batch can hold 47 messages, two 429s and a
500. Each round sends the still-pending ids in batches of ≤ 50 (Gmail's advice; the endpoint
takes 100 but throttles large batches per user); after a round with transient failures the
driver waits (the longest Retry-After among them, else backoff) and sends only those again.
A 404 is final; what still fails after the last round becomes a FetchFailure for the pipeline's
retry list. A 401 inside a batch was already renewed and resent by BatchHttpRequest itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from googleapiclient.errors import BatchError, HttpError

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
T = TypeVar("T")


class _Round(Generic[T]):
    """The state of one fetch across retry rounds."""

    def __init__(
        self, messages: Any, http: Any, convert: Callable[[dict[str, Any]], T], ids: list[str]
    ) -> None:
        self.messages = messages
        self.http = http
        self.convert = convert
        self.pending = ids
        self.results: dict[str, T | FetchFailure] = {}
        self.reasons: dict[str, str] = {}
        self.retry_after: float | None = None
        self.throttled = False

    def run(self) -> None:
        """Send every pending id once; raise a retryable error if some must go again."""
        failed: list[str] = []
        self.retry_after, self.throttled = None, False
        for offset in range(0, len(self.pending), BATCH_SIZE):
            failed += self._batch(self.pending[offset : offset + BATCH_SIZE])
        self.pending = failed
        if not failed:
            return
        if self.throttled:
            raise ProviderThrottled(self.retry_after)
        raise ProviderUnavailable(f"Gmail failed {len(failed)} message fetches.")

    def _batch(self, ids: list[str]) -> list[str]:
        failed: list[str] = []

        def answered(request_id: str, response: Any, error: Exception | None) -> None:
            message_id = ids[int(request_id)]
            if error is None:
                self.results[message_id] = self._converted(message_id, response)
            elif self._transient(message_id, error):
                failed.append(message_id)

        batch = gmail_batch(answered)
        for index, message_id in enumerate(ids):
            request = self.messages.get(userId="me", id=message_id, format="full")
            batch.add(request, request_id=str(index))
        try:
            batch.execute(http=self.http)
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

    def _converted(self, message_id: str, resource: dict[str, Any]) -> T | FetchFailure:
        try:
            return self.convert(resource)
        except Exception as error:
            # One message we cannot read must not stop the mailbox; the pipeline retries it.
            logger.exception("Gmail message %s could not be normalized", message_id)
            return FetchFailure(message_id, f"could not be normalized: {error!r}")

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
    http: Any,
    provider_ids: Sequence[str],
    *,
    convert: Callable[[dict[str, Any]], T],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> list[T | FetchFailure]:
    """``convert(resource)`` of each id, in the given order, or its FetchFailure."""
    state = _Round(messages, http, convert, list(dict.fromkeys(provider_ids)))
    if state.pending:
        try:
            call_with_retries(state.run, policy=policy, sleep=sleep, what="Gmail message batch")
        except (ProviderThrottled, ProviderUnavailable):
            for message_id in state.pending:
                reason = state.reasons.get(message_id, "failed")
                state.results[message_id] = FetchFailure(message_id, f"still failing: {reason}")
    return [state.results[message_id] for message_id in provider_ids]
