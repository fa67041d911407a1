"""Fault injection and the request log.

A fault rule matches requests by route-name glob (``gmail.*``, ``graph.messages.delta``) and/or
a path regex, and then delays them, answers them with an error in the provider's own error shape,
or resets the TCP connection. Rules fire with a probability drawn from their own seeded random,
so a failing test replays the same faults.
"""

from __future__ import annotations

import fnmatch
import random
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.sandbox.http import Response, status_phrase

REQUEST_LOG_SIZE = 100_000

# Google API errors: (reason, message, status). Gmail/Calendar answer rate limiting with
# 403 usageLimits/rateLimitExceeded as often as with 429, so 403 defaults to the rate-limit form.
GOOGLE_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("badRequest", "Bad Request", "INVALID_ARGUMENT"),
    401: ("authError", "Invalid Credentials", "UNAUTHENTICATED"),
    403: ("rateLimitExceeded", "Rate Limit Exceeded", "PERMISSION_DENIED"),
    404: ("notFound", "Requested entity was not found.", "NOT_FOUND"),
    409: ("conflict", "Requested entity already exists", "ALREADY_EXISTS"),
    410: ("fullSyncRequired", "Sync token is no longer valid, a full sync is required.", "ABORTED"),
    412: ("conditionNotMet", "Precondition Failed", "FAILED_PRECONDITION"),
    429: (
        "rateLimitExceeded",
        "Resource has been exhausted (e.g. check quota).",
        "RESOURCE_EXHAUSTED",
    ),
    500: ("backendError", "Backend Error", "INTERNAL"),
    502: ("backendError", "Bad Gateway", "UNAVAILABLE"),
    503: ("backendError", "The service is currently unavailable.", "UNAVAILABLE"),
    504: ("backendError", "Deadline exceeded", "DEADLINE_EXCEEDED"),
}
GOOGLE_DOMAINS = {403: "usageLimits", 429: "usageLimits"}

# Microsoft Graph errors: (code, message).
GRAPH_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Invalid request."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("ErrorAccessDenied", "Access is denied. Check credentials and try again."),
    404: ("ErrorItemNotFound", "The specified object was not found in the store."),
    409: ("ErrorIrresolvableConflict", "The change key passed in the request does not match."),
    410: ("SyncStateNotFound", "The sync state generation was not found."),
    429: ("ApplicationThrottled", "Application is over its MailboxConcurrency limit."),
    500: ("generalException", "General exception while processing."),
    502: ("BadGateway", "Bad Gateway"),
    503: ("serviceNotAvailable", "Service Unavailable"),
    504: ("GatewayTimeout", "Gateway Timeout"),
}

# OAuth 2.0 token/authorize endpoints (Google and the Microsoft identity platform).
OAUTH_ERRORS: dict[int, str] = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    429: "temporarily_unavailable",
    500: "server_error",
    503: "temporarily_unavailable",
}
# AADSTS codes the Microsoft identity platform sends with those statuses (50196 is how it
# signals throttling; 90033 is its transient "try again" error).
AADSTS_CODES: dict[int, tuple[int, str]] = {
    400: (900144, "The request body must contain the following parameter: 'grant_type'."),
    401: (7000215, "Invalid client secret provided."),
    429: (
        50196,
        "The server terminated an operation because it encountered a loop while "
        "processing a request.",
    ),
    500: (90033, "A transient error has occurred. Please try again."),
    503: (90033, "A transient error has occurred. Please try again."),
}


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def error_kind(path: str) -> str:
    """Which provider error shape a path answers with: google, graph, oauth, aad or control."""
    if path.startswith("/_sandbox"):
        return "control"
    if path.startswith("/graph/"):
        return "graph"
    if path.startswith("/upload/"):
        return "google"  # media uploads (/upload/gmail/v1/...) go to the server root
    if path.startswith("/google/"):
        api = ("/google/gmail/", "/google/calendar/", "/google/batch", "/google/upload/")
        return "google" if path.startswith(api) else "oauth"
    return "aad"


def error_body(
    status: int,
    path: str,
    *,
    reason: str | None = None,
    message: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """The JSON error the real provider would send for ``status`` on ``path``."""
    phrase = status_phrase(status, "Error")
    kind = kind or error_kind(path)
    if kind == "google":
        g_reason, g_message, g_status = GOOGLE_ERRORS.get(status, ("unknown", phrase, "UNKNOWN"))
        text = message or g_message
        detail: dict[str, Any] = {
            "domain": GOOGLE_DOMAINS.get(status, "global"),
            "reason": reason or g_reason,
            "message": text,
        }
        if status == 401:
            detail.update(location="Authorization", locationType="header")
        return {"error": {"code": status, "message": text, "errors": [detail], "status": g_status}}
    if kind == "graph":
        code, text = GRAPH_ERRORS.get(status, ("UnknownError", phrase))
        return {
            "error": {
                "code": reason or code,
                "message": message or text,
                "innerError": {
                    "date": _now_iso(),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        }
    if kind in ("oauth", "aad"):
        body: dict[str, Any] = {
            "error": reason or OAUTH_ERRORS.get(status, "server_error"),
            "error_description": message or phrase,
        }
        if kind == "aad":
            body.update(_aadsts(status, message))
        return body
    return {"error": {"code": status, "message": message or phrase, "reason": reason or phrase}}


def _aadsts(status: int, message: str | None) -> dict[str, Any]:
    """What the Microsoft identity platform adds to OAuth errors: AADSTS code and trace ids."""
    code, text = AADSTS_CODES.get(status, (90033, status_phrase(status, "Error")))
    stamp = _now_iso().replace("T", " ")
    trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    return {
        "error_description": f"AADSTS{code}: {message or text}\r\nTrace ID: {trace_id}\r\n"
        f"Correlation ID: {correlation_id}\r\nTimestamp: {stamp}Z",
        "error_codes": [code],
        "timestamp": f"{stamp}Z",
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }


def error_response(
    status: int,
    path: str,
    *,
    reason: str | None = None,
    message: str | None = None,
    kind: str | None = None,
) -> Response:
    body = error_body(status, path, reason=reason, message=message, kind=kind)
    return Response.json(body, status=status)


@dataclass
class FaultRule:
    id: str
    route: str | None = None  # glob over route names, e.g. "gmail.*"
    path: str | None = None  # regex searched in the decoded path
    method: str | None = None
    status: int | None = None
    body: Any = None  # JSON body; None means the provider's own error for ``status``
    reason: str | None = None  # Google reason / Graph code / OAuth error in the default body
    message: str | None = None
    rate: float = 1.0
    retry_after: int | None = None
    latency_ms: int = 0
    reset: bool = False
    times: int | None = None
    seed: int = 0
    applied: int = 0
    _random: random.Random = field(default_factory=random.Random, repr=False)
    _path_re: re.Pattern[str] | None = field(default=None, repr=False)

    FIELDS = (
        "route",
        "path",
        "method",
        "status",
        "body",
        "reason",
        "message",
        "rate",
        "retry_after",
        "latency_ms",
        "reset",
        "times",
        "seed",
    )

    @classmethod
    def from_payload(cls, rule_id: str, payload: dict[str, Any]) -> FaultRule:
        unknown = set(payload) - set(cls.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        rule = cls(id=rule_id, **payload)
        if rule.route is None and rule.path is None:
            raise ValueError("a fault needs 'route' (glob over route names) or 'path' (regex)")
        if rule.status is None and not rule.reset and not rule.latency_ms:
            raise ValueError("a fault needs 'status', 'reset' or 'latency_ms'")
        valid_status = isinstance(rule.status, int) and 100 <= rule.status < 600
        if rule.status is not None and not valid_status:
            raise ValueError("status must be an HTTP status code")
        if not (isinstance(rule.rate, int | float) and 0 <= rule.rate <= 1):
            raise ValueError("rate must be between 0 and 1")
        if rule.times is not None and (not isinstance(rule.times, int) or rule.times < 1):
            raise ValueError("times must be a positive integer")
        if rule.retry_after is not None and (
            not isinstance(rule.retry_after, int) or rule.retry_after < 0
        ):
            raise ValueError("retry_after must be a non-negative integer (seconds)")
        if not isinstance(rule.latency_ms, int | float) or rule.latency_ms < 0:
            raise ValueError("latency_ms must be a non-negative number")
        if rule.path is not None:
            try:
                rule._path_re = re.compile(rule.path)
            except re.error as exc:
                raise ValueError(f"bad path regex: {exc}") from exc
        rule.method = rule.method.upper() if rule.method else None
        rule._random = random.Random(rule.seed)  # noqa: S311 - reproducible, not secret
        return rule

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def matches(self, method: str, route_name: str | None, path: str) -> bool:
        if self.exhausted or (self.method and self.method != method):
            return False
        if self.route is not None and not fnmatch.fnmatchcase(route_name or "", self.route):
            return False
        return self._path_re is None or self._path_re.search(path) is not None

    def fires(self) -> bool:
        return self.rate >= 1 or self._random.random() < self.rate

    def to_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.FIELDS}
        return {"id": self.id, **data, "applied": self.applied, "exhausted": self.exhausted}


@dataclass
class FaultDecision:
    """What to do to one request: wait, then answer with ``response``, reset, or go on."""

    latency_seconds: float = 0.0
    response: Response | None = None
    reset: bool = False
    rule_ids: list[str] = field(default_factory=list)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, payload: dict[str, Any]) -> FaultRule:
        with self._lock:
            rule = FaultRule.from_payload(f"f{self._next_id}", payload)
            self._next_id += 1
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def decide(self, method: str, route_name: str | None, path: str) -> FaultDecision | None:
        """Apply matching rules in order: latency adds up; the first status/reset rule ends it."""
        if not self._rules:
            return None
        decision: FaultDecision | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, route_name, path) or not rule.fires():
                    continue
                rule.applied += 1
                decision = decision or FaultDecision()
                decision.rule_ids.append(rule.id)
                decision.latency_seconds += rule.latency_ms / 1000
                if rule.reset:
                    decision.reset = True
                    break
                if rule.status is not None:
                    decision.response = _fault_response(rule, path)
                    break
        return decision


def _fault_response(rule: FaultRule, path: str) -> Response:
    assert rule.status is not None
    if rule.body is not None:
        response = Response.json(rule.body, status=rule.status)
    else:
        response = error_response(rule.status, path, reason=rule.reason, message=rule.message)
    if rule.retry_after is not None:
        response.headers.append(("Retry-After", str(rule.retry_after)))
    return response


class RequestLog:
    """A bounded ring of served requests; ``seq`` keeps growing across clears."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> int:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def last_seq(self) -> int:
        return self._seq

    def entries(
        self,
        *,
        since: int = 0,
        route: str | None = None,
        provider: str | None = None,
        user: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        with self._lock:
            snapshot = list(self._entries)
        found = [
            entry
            for entry in snapshot
            if entry["seq"] > since
            and (route is None or fnmatch.fnmatchcase(entry.get("route") or "", route))
            and (provider is None or entry.get("provider") == provider)
            and (user is None or entry.get("user") == user)
        ]
        return found[-limit:] if limit else found
