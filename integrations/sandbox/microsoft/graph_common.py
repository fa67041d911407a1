"""What every Graph handler shares: bearer auth, mailbox access, scopes, throttling, errors,
``Prefer`` headers, and Graph's response headers.

Handlers are registered with :func:`graph_route` and receive a :class:`Ctx` already holding the
sandbox lock; they raise :class:`GraphError` (or ``Abort``) to answer with Graph's error body.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from integrations.sandbox.http import Abort, Request, Response, router
from integrations.sandbox.microsoft import scopes as sc
from integrations.sandbox.microsoft.records import AccessToken, Grant, Mailbox, User
from integrations.sandbox.microsoft.state import MicrosoftState, state_of

GRAPH_ROOT = "/graph/v1.0"
USER = r"(?:(?i:me)|(?i:users)/(?P<user>[^/]+))"
# A mail folder by path segment or OData key syntax: mailFolders/inbox, mailFolders('inbox').
FOLDER = r"/(?i:mailFolders)(?:/|\(')(?P<folder>[^/'()]+)(?:'\))?"
_JSON_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
_PREFER_ITEM = re.compile(r'\s*([A-Za-z.\-]+)\s*(?:=\s*("(?:[^"]*)"|[^,;\s]+))?')

# access name -> (scopes for one's own mailbox, scopes for a delegated shared mailbox)
ACCESS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mail.read": (sc.MAIL_READ, sc.MAIL_SHARED_READ),
    "mail.write": (sc.MAIL_WRITE, sc.MAIL_SHARED_WRITE),
    "mail.send": (sc.MAIL_SEND, ("Mail.Send.Shared",)),
    "calendar.read": (sc.CALENDAR_READ, sc.CALENDAR_SHARED_READ),
    "calendar.write": (sc.CALENDAR_WRITE, sc.CALENDAR_SHARED_WRITE),
}


class GraphError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or []


def graph_error_response(
    request: Request,
    now: datetime,
    status: int,
    code: str,
    message: str,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    request_id = str(uuid.uuid4())
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": request.headers.get("client-request-id") or request_id,
            },
        }
    }
    return _json(request, status, body, [*(headers or [])], request_id)


def _json(
    request: Request,
    status: int,
    body: Any,
    headers: list[tuple[str, str]],
    request_id: str | None = None,
) -> Response:
    request_id = request_id or str(uuid.uuid4())
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(
        status,
        data,
        [
            ("Content-Type", _JSON_TYPE),
            ("Cache-Control", "no-cache"),
            ("request-id", request_id),
            ("client-request-id", request.headers.get("client-request-id") or request_id),
            ("OData-Version", "4.0"),
            *headers,
        ],
    )


def parse_prefer(request: Request) -> dict[str, str]:
    prefs: dict[str, str] = {}
    for item in (request.headers.get("prefer") or "").split(","):
        found = _PREFER_ITEM.match(item)
        if found and found.group(1):
            prefs[found.group(1).lower()] = (found.group(2) or "").strip('"')
    return prefs


@dataclass
class Ctx:
    request: Request
    state: MicrosoftState
    caller: User
    token: AccessToken
    grant: Grant
    target: User
    prefer: dict[str, str]
    applied: list[str] = field(default_factory=list)  # Preference-Applied values

    @property
    def mailbox(self) -> Mailbox:
        return self.state.mailboxes[self.target.oid]

    @property
    def now(self) -> datetime:
        return self.state.now()

    @property
    def immutable(self) -> bool:
        wanted = self.prefer.get("idtype", "").lower() == "immutableid"
        if wanted and 'IdType="ImmutableId"' not in self.applied:
            self.applied.append('IdType="ImmutableId"')
        return wanted

    @property
    def body_type(self) -> str | None:
        wanted = self.prefer.get("outlook.body-content-type", "").lower()
        if wanted in ("text", "html"):
            applied = f'outlook.body-content-type="{wanted}"'
            if applied not in self.applied:
                self.applied.append(applied)
            return wanted
        return None

    def max_page_size(self, default: int, ceiling: int = 1000) -> int:
        raw = self.prefer.get("odata.maxpagesize")
        if raw and raw.isdigit() and int(raw) > 0:
            size = min(int(raw), ceiling)
            self.applied.append(f"odata.maxpagesize={size}")
            return size
        return default

    def arg(self, name: str) -> str | None:
        return self.request.arg(name)

    def url(self, path: str, params: dict[str, str] | None = None) -> str:
        base = f"{self.request.base_url}{GRAPH_ROOT}/{path.lstrip('/')}"
        return f"{base}?{urlencode(params, quote_via=quote)}" if params else base

    def context(self, tail: str) -> str:
        return f"{self.request.base_url}{GRAPH_ROOT}/$metadata#users('{self.target.oid}')/{tail}"

    def ok(
        self, body: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        extra = list(headers or [])
        if self.applied:
            extra.append(("Preference-Applied", ",".join(self.applied)))
        return _json(self.request, status, body, extra)

    def empty(self, status: int = 204) -> Response:
        request_id = str(uuid.uuid4())
        return Response(
            status,
            b"",
            [
                ("request-id", request_id),
                ("client-request-id", self.request.headers.get("client-request-id") or request_id),
            ],
        )

    def json_body(self) -> dict[str, Any]:
        try:
            data = self.request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please "
                "ensure Content-Type header is set and payload is of valid JSON "
                "format.",
            ) from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise GraphError(400, "BadRequest", "Invalid request body.")
        return data


Handler = Callable[[Ctx], Response]


def _authenticate(request: Request, state: MicrosoftState) -> tuple[AccessToken, Grant, User]:
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    record = state.access_tokens.get(token)
    if record is None:
        if token.count(".") != 2:
            raise GraphError(
                401,
                "InvalidAuthenticationToken",
                "IDX14100: JWT is not well formed, there are no dots (.).\nThe token "
                "needs to be in JWS or JWE Compact Serialization Format. (JWS): "
                "'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): "
                "'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVec"
                "tor.EncodedCiphertext.EncodedAuthenticationTag'.",
            )
        raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure.")
    if record.expires_at <= state.now():
        raise GraphError(
            401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
        )
    grant = state.grants[record.grant_id]
    if grant.revoked_at is not None:
        # Exchange Online evaluates revocation continuously (CAE) and rejects such tokens.
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "Continuous access evaluation resulted in challenge with result: "
            "InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp",
        )
    return record, grant, state.users[grant.oid]


def _require(token: AccessToken, allowed: tuple[str, ...]) -> None:
    if not any(scope in token.scopes for scope in allowed):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )


def resolve_target(
    state: MicrosoftState, token: AccessToken, caller: User, key: str | None, access: str | None
) -> User:
    """The mailbox owner a request addresses, after Exchange's access and scope checks."""
    if key is None or key.lower() in (caller.oid, caller.upn):
        if access is not None:
            _require(token, ACCESS[access][0])
        return caller
    target = state.find_user(key)
    if target is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    if not (target.shared and caller.oid in target.delegates):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    if access is not None:
        _require(token, ACCESS[access][1])
    return target


def graph_route(
    method: str, tail: str, *, name: str, access: str | None, throttled: bool = True
) -> Callable[[Handler], Handler]:
    """Register a Graph handler at ``/graph/v1.0/{me|users/{id}}{tail}``."""
    pattern = rf"{re.escape(GRAPH_ROOT)}/{USER}{tail}"
    return _register(method, pattern, name=name, access=access, throttled=throttled)


def graph_root_route(
    method: str, tail: str, *, name: str, locked: bool = True
) -> Callable[[Handler], Handler]:
    """Register a Graph handler addressed to no mailbox (``/subscriptions``). An unlocked
    handler runs without the sandbox lock and takes it itself (to make outbound calls)."""
    return _register(
        method,
        rf"{re.escape(GRAPH_ROOT)}{tail}",
        name=name,
        access=None,
        throttled=False,
        locked=locked,
    )


def _register(
    method: str,
    pattern: str,
    *,
    name: str,
    access: str | None,
    throttled: bool,
    locked: bool = True,
) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        def endpoint(request: Request) -> Response:
            return run_graph(request, handler, access=access, throttled=throttled, locked=locked)

        router.route(method, pattern, name=name, provider="microsoft")(endpoint)
        return handler

    return decorator


def run_graph(
    request: Request, handler: Handler, *, access: str | None, throttled: bool, locked: bool = True
) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        state = state_of(request)
        now = state.now()
        try:
            token, grant, caller = _authenticate(request, state)
            target = resolve_target(state, token, caller, request.params.get("user"), access)
        except GraphError as err:
            return graph_error_response(
                request, now, err.status, err.code, err.message, err.headers
            )
        request.log_user = target.upn  # type: ignore[attr-defined]
        config = sandbox.config
    held = throttled and config.graph_throttle
    if held:
        verdict = state.throttle.acquire(
            grant.client_id,
            target.oid,
            now,
            concurrent_limit=config.graph_concurrent_per_mailbox,
            window_limit=config.graph_requests_per_10min,
        )
        if not verdict.allowed:
            return _throttled(request, now, verdict.reason, verdict.retry_after)
    try:
        with sandbox.lock if locked else contextlib.nullcontext():
            ctx = Ctx(
                request, state_of(request), caller, token, grant, target, parse_prefer(request)
            )
            try:
                return handler(ctx)
            except GraphError as err:
                return graph_error_response(
                    request, ctx.now, err.status, err.code, err.message, err.headers
                )
            except Abort as abort:
                return abort.response
    finally:
        if held:
            state.throttle.release(grant.client_id, target.oid)


def _throttled(request: Request, now: datetime, reason: str, retry_after: int) -> Response:
    headers = [("Retry-After", str(retry_after))]
    if reason == "concurrency":
        return graph_error_response(
            request,
            now,
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            headers,
        )
    return graph_error_response(
        request,
        now,
        429,
        "TooManyRequests",
        "Application is over its MailboxRequestRate limit. Please retry again later.",
        headers,
    )


def page_params(ctx: Ctx, *, default_top: int = 10, max_top: int = 1000) -> tuple[int, int]:
    """($top, $skip) with Graph's bounds."""
    top_raw, skip_raw = ctx.arg("$top"), ctx.arg("$skip")
    try:
        top = int(top_raw) if top_raw is not None else default_top
        skip = int(skip_raw) if skip_raw is not None else 0
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Invalid $top or $skip value.") from exc
    if top_raw is not None and not 1 <= top <= max_top:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The value of the parameter 'Top' must be between 1 and {max_top}.",
        )
    if skip < 0:
        raise GraphError(400, "BadRequest", "Invalid $skip value.")
    return top, skip


def next_link(ctx: Ctx, skip: int) -> str:
    params = {k: v[-1] for k, v in ctx.request.query.items()}
    params["$skip"] = str(skip)
    path = ctx.request.path[len(GRAPH_ROOT) :]
    return ctx.url(path, params)
