"""What every Gmail handler shares: route registration with auth, scope, user and quota checks,
request parsing in Google's terms, and page tokens.

``@gmail_route("GET", "/messages/(?P<id>[^/]+)", name="gmail.users.messages.get")`` registers
``/google/gmail/v1/users/{userId}/messages/{id}`` under the discovery method id as route name
(the name fault rules and the request log match). Before the handler runs, in Google's order:
the bearer token (401), the token's scopes against the method's (403), ``userId`` is ``me`` or
the token's own address (403 "Delegation denied"), then the per-user quota (429). Handlers get a
:class:`GmailCall` and return a dict (sent as JSON through the ``fields`` mask) or a Response.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.google.auth import GOOGLE_SCOPE_PREFIX, Caller, authenticate
from integrations.sandbox.google.errors import abort, bad_request, invalid_json
from integrations.sandbox.google.fields import apply_fields, parse_fields
from integrations.sandbox.google.gmail_push import publish_pending
from integrations.sandbox.google.gmail_store import Mailbox
from integrations.sandbox.google.quota import gmail_cost, rate_limited
from integrations.sandbox.google.state import GoogleUser
from integrations.sandbox.http import Request, Response, router

USER_PATH = r"/google/gmail/v1/users/(?P<userId>[^/]+)"
# googleapiclient builds media URLs from the discovery rootUrl with only the host swapped, so
# uploads arrive at /upload/gmail/v1/... at the server root whatever api_endpoint says.
UPLOAD_PATHS = (
    r"/upload/gmail/v1/users/(?P<userId>[^/]+)",
    r"/google/upload/gmail/v1/users/(?P<userId>[^/]+)",
)

MAIL_SCOPE = "https://mail.google.com/"


def _scopes(*names: str) -> frozenset[str]:
    return frozenset({MAIL_SCOPE, *(f"{GOOGLE_SCOPE_PREFIX}gmail.{name}" for name in names)})


_READ = _scopes("modify", "readonly", "metadata")
_MESSAGE_READ = _scopes(
    "modify",
    "readonly",
    "metadata",
    "addons.current.message.action",
    "addons.current.message.metadata",
    "addons.current.message.readonly",
)
_LABELS_READ = _scopes("labels", "modify", "readonly", "metadata")
_LABELS_WRITE = _scopes("labels", "modify")
_MODIFY = _scopes("modify")
_FULL_ONLY = _scopes()
_INSERT = _scopes("insert", "modify")

# Scopes each method accepts, from the Gmail v1 discovery document.
GMAIL_SCOPES: dict[str, frozenset[str]] = {
    "gmail.users.getProfile": _scopes("compose", "modify", "readonly", "metadata"),
    "gmail.users.watch": _READ,
    "gmail.users.stop": _READ,
    "gmail.users.history.list": _READ,
    "gmail.users.labels.list": _LABELS_READ,
    "gmail.users.labels.get": _LABELS_READ,
    "gmail.users.labels.create": _LABELS_WRITE,
    "gmail.users.labels.update": _LABELS_WRITE,
    "gmail.users.labels.patch": _LABELS_WRITE,
    "gmail.users.labels.delete": _LABELS_WRITE,
    "gmail.users.messages.list": _READ,
    "gmail.users.messages.get": _MESSAGE_READ,
    "gmail.users.messages.attachments.get": _scopes(
        "modify", "readonly", "addons.current.message.action", "addons.current.message.readonly"
    ),
    "gmail.users.messages.modify": _MODIFY,
    "gmail.users.messages.batchModify": _MODIFY,
    "gmail.users.messages.trash": _MODIFY,
    "gmail.users.messages.untrash": _MODIFY,
    "gmail.users.messages.delete": _FULL_ONLY,
    "gmail.users.messages.batchDelete": _FULL_ONLY,
    "gmail.users.messages.send": _scopes(
        "modify", "compose", "send", "addons.current.action.compose"
    ),
    "gmail.users.messages.insert": _INSERT,
    "gmail.users.messages.import": _INSERT,
    "gmail.users.threads.list": _READ,
    "gmail.users.threads.get": _MESSAGE_READ,
    "gmail.users.threads.modify": _MODIFY,
    "gmail.users.threads.trash": _MODIFY,
    "gmail.users.threads.untrash": _MODIFY,
    "gmail.users.threads.delete": _FULL_ONLY,
}
_METADATA_SCOPES = {
    f"{GOOGLE_SCOPE_PREFIX}gmail.metadata",
    f"{GOOGLE_SCOPE_PREFIX}gmail.addons.current.message.metadata",
}


@dataclass
class GmailCall:
    request: Request
    caller: Caller

    @property
    def sandbox(self) -> Any:
        return self.request.sandbox

    @property
    def user(self) -> GoogleUser:
        return self.caller.user

    @property
    def mailbox(self) -> Mailbox:
        return self.caller.user.mailbox

    def now(self) -> float:
        """Sandbox-clock epoch seconds."""
        return float(self.sandbox.now().timestamp())

    @property
    def metadata_only(self) -> bool:
        """True when the token reads mail only through gmail.metadata (no bodies, no ``q``)."""
        readers = _MESSAGE_READ - _METADATA_SCOPES
        return not self.caller.has_scope(*readers)

    def arg(self, name: str) -> str | None:
        return self.request.arg(name)

    def bool_arg(self, name: str) -> bool:
        value = (self.request.arg(name) or "false").lower()
        if value not in ("true", "false", "1", "0"):
            raise bad_request(f"Invalid value at '{name}' (TYPE_BOOL), \"{value}\"")
        return value in ("true", "1")

    def int_arg(self, name: str, *, default: int, maximum: int) -> int:
        text = self.request.arg(name)
        if text in (None, ""):
            return default
        try:
            value = int(text)
        except ValueError:
            raise bad_request(f"Invalid value at '{name}' (TYPE_UINT32), \"{text}\"") from None
        if value < 0:
            raise bad_request(f"Invalid value at '{name}' (TYPE_UINT32), \"{text}\"")
        return min(value or default, maximum)

    def json_body(self, allowed: set[str]) -> dict[str, Any]:
        """The JSON request body; unknown fields are rejected the way Google's ESF does."""
        return parse_json_object(self.request.body, allowed)


def parse_json_object(body: bytes, allowed: set[str]) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_json(f"Unexpected token. {exc}") from None
    if not isinstance(data, dict):
        raise invalid_json("Root element must be a message.")
    for key in data:
        if key not in allowed:
            raise invalid_json(f'Unknown name "{key}": Cannot find field.')
    return data


def _check_user_id(user_id: str, user: GoogleUser) -> None:
    if user_id != "me" and user_id.strip().lower() != user.email:
        raise abort(403, f"Delegation denied for {user.email}", reason="forbidden")


def _charge_quota(request: Request, email: str, route_name: str) -> None:
    sandbox = request.sandbox
    limit = sandbox.config.gmail_quota_units_per_second
    wait = sandbox.google.quota.charge(email, gmail_cost(route_name), limit, time.monotonic())
    if wait is not None:
        raise rate_limited(sandbox.now(), wait)


GmailHandler = Callable[[GmailCall], "dict[str, Any] | Response"]


def gmail_route(
    method: str, suffix: str, *, name: str, upload: bool = False
) -> Callable[[GmailHandler], GmailHandler]:
    """Register a Gmail method at ``/google/gmail/v1/users/{userId}{suffix}`` (and upload paths)."""
    accepted = GMAIL_SCOPES[name]

    def decorator(handler: GmailHandler) -> GmailHandler:
        def endpoint(request: Request) -> Response:
            sandbox = request.sandbox
            with sandbox.lock:
                caller = authenticate(
                    request, accepted_scopes=accepted, service="gmail.googleapis.com", method=name
                )
                _check_user_id(request.params["userId"], caller.user)
                _charge_quota(request, caller.user.email, name)
                try:
                    result = handler(GmailCall(request, caller))
                finally:
                    publish_pending(sandbox, request.base_url)
            if isinstance(result, Response):
                return result
            fields = request.arg("fields")
            if fields:
                result = apply_fields(result, parse_fields(fields))
            return Response.json(result)

        router.route(method, USER_PATH + suffix, name=name, provider="google")(endpoint)
        if upload:
            for prefix in UPLOAD_PATHS:
                router.route(method, prefix + suffix, name=name, provider="google")(endpoint)
        return handler

    return decorator


# -- page tokens ---------------------------------------------------------------------------------
# Gmail's page tokens are opaque digit strings. The sandbox's encode the sort key (internalDate,
# id) of the last item served, so a page continues after it even if mail arrived in between.


def page_token(internal_date: int, item_id: str) -> str:
    return str((internal_date << 64) | int(item_id, 16))


def read_page_token(token: str | None) -> tuple[int, str] | None:
    if not token:
        return None
    try:
        value = int(token)
    except ValueError:
        raise bad_request("Invalid pageToken") from None
    return value >> 64, f"{value & 0xFFFFFFFFFFFFFFFF:016x}"
