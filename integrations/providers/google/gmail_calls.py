"""Gmail API answers as Liaison's domain errors, and single calls retried on transient failure.

Gmail signals rate limiting both as 429 and as 403 with reason ``rateLimitExceeded`` /
``userRateLimitExceeded``; any other 403 (``insufficientPermissions``, ``forbidden``) is final.
A 401 has already been through one ``ctx.renew()`` by the time it reaches here (AuthorizedHttp
and BatchHttpRequest both refresh and resend), so a second 401 means the grant is unusable.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable
from typing import Any

import httplib2
from googleapiclient.errors import HttpError

from integrations.providers.base import InvalidGrant, ProviderError, ProviderUnavailable
from integrations.providers.mail import ProviderThrottled
from integrations.providers.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)

RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)
# What a dropped or hung connection raises through httplib2 (socket errors are OSError).
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    httplib2.HttpLib2Error,
    http.client.HTTPException,
    OSError,
)


def error_reason(error: HttpError) -> str:
    """The first ``errors[].reason`` of a Google error body ("" when there is none)."""
    try:
        body = json.loads(error.content)
        return str(body["error"]["errors"][0].get("reason") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return ""


def status_of(error: HttpError) -> int:
    return int(getattr(error.resp, "status", 0) or 0)


def is_transient(status: int, reason: str) -> bool:
    return status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS)


def translate(error: HttpError, what: str) -> ProviderError:
    """The domain error for a Gmail error answer (404 is left to the caller's context)."""
    status, reason = status_of(error), error_reason(error)
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
        return ProviderThrottled(retry_after_seconds(error.resp.get("retry-after")))
    if status >= 500:
        return ProviderUnavailable(f"Gmail failed while answering {what} ({status}).")
    if status == 401:
        return InvalidGrant("Google refused the access token even after renewing it.")
    if status == 403:
        return ProviderError(f"Gmail refused {what} ({reason or 'forbidden'}).", code="Forbidden")
    if status == 404:
        return ProviderError(f"Gmail found nothing for {what}.", code="NotFound")
    return ProviderError(f"Gmail rejected {what} ({status} {reason}).".replace(" )", ")"))


def execute_once(request: Any, what: str) -> Any:
    """One call; Gmail errors and transport failures as domain errors."""
    try:
        return request.execute()
    except HttpError as error:
        raise translate(error, what) from error
    except TRANSPORT_ERRORS as error:
        raise ProviderUnavailable(f"Gmail could not be reached for {what}.") from error


def execute(
    request: Any,
    what: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """One call with retries on throttling, 5xx and transport errors (Retry-After honoured)."""
    return call_with_retries(
        lambda: execute_once(request, what), policy=policy, sleep=sleep, what=f"Gmail {what}"
    )
