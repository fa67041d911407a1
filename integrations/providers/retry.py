"""Retrying provider calls: Retry-After first, else exponential backoff with full jitter."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from integrations.providers.base import ProviderUnavailable
from integrations.providers.mail import ProviderThrottled

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    # A Retry-After longer than this is not slept through in-process: the error goes up and
    # the scheduler parks the mailbox until then.
    max_inline_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given (0-based) retry."""
        return random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))  # noqa: S311


DEFAULT_POLICY = RetryPolicy()


def call_with_retries(
    operation: Callable[[], T],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "provider call",
) -> T:
    """Run ``operation``, retrying ProviderThrottled and ProviderUnavailable.

    Other errors (InvalidGrant, CursorExpired, …) go straight up.
    """
    for attempt in range(policy.attempts):
        try:
            return operation()
        except ProviderThrottled as exc:
            if attempt == policy.attempts - 1:
                raise
            wait = exc.retry_after if exc.retry_after is not None else policy.backoff(attempt)
            if wait > policy.max_inline_wait:
                raise
            logger.info("%s throttled; retrying in %.1fs", what, wait)
            sleep(wait)
        except ProviderUnavailable:
            if attempt == policy.attempts - 1:
                raise
            wait = policy.backoff(attempt)
            logger.info("%s failed temporarily; retrying in %.1fs", what, wait)
            sleep(wait)
    raise AssertionError("unreachable")


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header (delta-seconds; HTTP dates are treated as unknown)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
