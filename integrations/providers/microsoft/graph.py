"""A Microsoft Graph REST session for the drivers: bearer auth, retries, ``$batch``.

Every call takes a live token from ``token()``; a 401 calls ``renew()`` once and tries again.
429 and 503 honour Retry-After; other 5xx, resets and timeouts back off with jitter
(``call_with_retries``). ``$batch`` retries only the inner requests that failed transiently.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from integrations.providers.base import InvalidGrant, ProviderError, ProviderUnavailable
from integrations.providers.http import ca_bundle, provider_session
from integrations.providers.mail import ProviderThrottled
from integrations.providers.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    call_with_retries,
    retry_after_seconds,
)

BATCH_LIMIT = 20  # Graph's JSON batching takes at most 20 requests
# Graph item ids change when a message moves folders unless "Prefer: IdType=ImmutableId".
IMMUTABLE_IDS = {"Prefer": 'IdType="ImmutableId"'}
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_NETWORK_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


def path_segment(value: str) -> str:
    """An id or address as one URL path segment (Exchange ids are base64url with "=")."""
    return quote(value, safe="@=")


class GraphError(ProviderError):
    """Graph answered with an error that retrying will not fix (4xx other than 401/429)."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(f"Microsoft Graph refused the request ({status} {code}).", code=code)
        self.status = status
        self.graph_code = code
        self.graph_message = message


@dataclass(frozen=True)
class GraphRequest:
    """One inner request of a ``$batch``; ``url`` absolute or relative to the Graph root."""

    id: str
    url: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None  # JSON, for PATCH / POST


@dataclass(frozen=True)
class GraphResult:
    """A Graph answer: ``body`` is decoded JSON (dict) or raw bytes for other content types."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES

    @property
    def error_code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code") or "") if isinstance(error, dict) else ""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))

    def raise_for_error(self) -> None:
        """ProviderThrottled / ProviderUnavailable for transient answers, GraphError otherwise."""
        if self.ok:
            return
        if self.status == 429 or (self.status == 503 and self.retry_after is not None):
            raise ProviderThrottled(self.retry_after)
        if self.status in TRANSIENT_STATUSES:
            raise ProviderUnavailable(f"Microsoft Graph answered {self.status}.")
        if self.status == 401:
            raise InvalidGrant("Microsoft rejects the access tokens of this connection.")
        message = ""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            message = str(self.body["error"].get("message") or "")
        raise GraphError(self.status, self.error_code or "UnknownError", message)


def _decoded(status: int, headers: Mapping[str, str], content: bytes) -> GraphResult:
    lowered = {k.lower(): v for k, v in headers.items()}
    body: Any = content
    if "json" in lowered.get("content-type", "") and content:
        try:
            body = json.loads(content)
        except ValueError as exc:  # a truncated answer: the connection dropped mid-body
            raise ProviderUnavailable("Microsoft Graph sent a malformed answer.") from exc
    return GraphResult(status, body, lowered)


def _chunks(items: Sequence[GraphRequest], size: int) -> Iterator[Sequence[GraphRequest]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class GraphClient:
    """Graph calls for one mailbox owner's grant."""

    def __init__(
        self,
        *,
        token: Callable[[], str],
        renew: Callable[[], str],
        session: requests.Session | None = None,
        base_url: str | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._token = token
        self._renew = renew
        self.session = session or provider_session()
        self.base_url = (base_url or settings.MICROSOFT_GRAPH_URL).rstrip("/")
        self.policy = policy
        self.sleep = sleep
        # Passed on every request: REQUESTS_CA_BUNDLE would otherwise replace session.verify.
        self.verify = ca_bundle()

    # -- URLs ------------------------------------------------------------------------------------

    def absolute(self, url: str) -> str:
        if url.startswith("/"):
            return self.base_url + url
        if not self.owns(url):
            # A nextLink/deltaLink is followed with our bearer token: never to another host.
            raise ProviderError("A Graph link points outside the configured Graph endpoint.")
        return url

    def relative(self, url: str) -> str:
        """The form ``$batch`` wants: the path and query under the version root."""
        return self.absolute(url)[len(self.base_url) :]

    def owns(self, url: str) -> bool:
        return url.startswith(self.base_url + "/")

    # -- single requests -------------------------------------------------------------------------

    def _send_once(
        self, method: str, url: str, headers: Mapping[str, str], body: Any, raw: bool
    ) -> GraphResult:
        """One HTTP exchange (plus one after renewing on 401); transient failures raise."""
        renewed = False
        token = self._token()
        while True:
            try:
                response = self.session.request(
                    method,
                    url,
                    headers={**headers, "Authorization": f"Bearer {token}"},
                    json=body,
                    verify=self.verify,
                )
            except _NETWORK_ERRORS as exc:
                raise ProviderUnavailable("Microsoft Graph could not be reached.") from exc
            if raw and response.ok:
                return GraphResult(response.status_code, response.content, {})
            result = _decoded(response.status_code, response.headers, response.content)
            if result.status == 401 and not renewed:
                token, renewed = self._renew(), True
                continue
            if result.transient or result.status == 401:
                result.raise_for_error()
            return result

    def send(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        raw: bool = False,
        what: str = "Graph call",
    ) -> GraphResult:
        """The answer after retries: 2xx or a non-transient error (the caller decides).

        ``raw``: a 2xx body stays bytes whatever its content type (attachment ``$value``).

        Raises ProviderThrottled / ProviderUnavailable once retries are spent, InvalidGrant
        when renewing fails or a fresh token is refused too.
        """
        target = self.absolute(url)
        return call_with_retries(
            lambda: self._send_once(method, target, headers or {}, body, raw),
            policy=self.policy,
            sleep=self.sleep,
            what=what,
        )

    def get_json(
        self, url: str, *, headers: Mapping[str, str] | None = None, what: str = "Graph call"
    ) -> dict[str, Any]:
        result = self.send(url, headers=headers, what=what)
        result.raise_for_error()
        if not isinstance(result.body, dict):
            raise ProviderUnavailable("Microsoft Graph sent a malformed answer.")
        return result.body

    # -- $batch ----------------------------------------------------------------------------------

    def _batch_entry(self, item: GraphRequest) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": item.id,
            "method": item.method,
            "url": self.relative(item.url),
        }
        headers = dict(item.headers)
        if item.body is not None:
            # $batch refuses a write whose body comes without its Content-Type.
            headers.setdefault("Content-Type", "application/json")
            entry["body"] = item.body
        if headers:
            entry["headers"] = headers
        return entry

    def _post_batch(self, chunk: Sequence[GraphRequest]) -> dict[str, GraphResult]:
        payload = {"requests": [self._batch_entry(item) for item in chunk]}
        outer = self.send("/$batch", method="POST", body=payload, what="Graph $batch")
        outer.raise_for_error()
        responses = outer.body.get("responses") if isinstance(outer.body, dict) else None
        if not isinstance(responses, list):
            raise ProviderUnavailable("Microsoft Graph sent a malformed batch answer.")
        found: dict[str, GraphResult] = {}
        for entry in responses:
            headers = {str(k).lower(): str(v) for k, v in (entry.get("headers") or {}).items()}
            found[str(entry.get("id"))] = GraphResult(
                int(entry.get("status") or 0), entry.get("body"), headers
            )
        for item in chunk:  # an answer that left a request out: treat as a passing failure
            found.setdefault(item.id, GraphResult(503, None, {}))
        return found

    def batch(self, items: Sequence[GraphRequest]) -> dict[str, GraphResult]:
        """Answers by request id, sent 20 at a time.

        Inner 429/5xx are retried (Retry-After honoured, else backoff) up to the policy's
        attempts; inner 401s renew the token once. What still fails transiently comes back as
        its last answer, so the caller can record it (FetchFailure) instead of losing the rest.
        A failure of the ``$batch`` call itself raises like :meth:`send`.
        """
        results: dict[str, GraphResult] = {}
        pending = list(items)
        renewed = False
        for attempt in range(self.policy.attempts):
            retry: list[GraphRequest] = []
            waits: list[float] = []
            for chunk in _chunks(pending, BATCH_LIMIT):
                answers = self._post_batch(chunk)
                for item in chunk:
                    result = results[item.id] = answers[item.id]
                    if result.transient or result.status == 401:
                        retry.append(item)
                    if result.transient and result.retry_after is not None:
                        waits.append(result.retry_after)
            unauthorized = [item for item in retry if results[item.id].status == 401]
            if unauthorized:
                if renewed:
                    raise InvalidGrant("Microsoft rejects the access tokens of this connection.")
                self._renew()  # token() answers the renewed token from now on
                renewed = True
            if not retry or attempt == self.policy.attempts - 1:
                break
            if len(unauthorized) < len(retry):
                wait = max(waits) if waits else self.policy.backoff(attempt)
                if wait > self.policy.max_inline_wait:
                    break
                self.sleep(wait)
            pending = retry
        return results
