"""Graph change-notification subscriptions on mail and events: create (with the validation
handshake), get, list, renew, delete. Notifications themselves are sent by ``mailstore.fan_out``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlparse

import requests

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft.graph_common import (
    Ctx,
    GraphError,
    graph_root_route,
    parse_prefer,
    resolve_target,
)
from integrations.sandbox.microsoft.mailstore import graph_datetime
from integrations.sandbox.microsoft.records import Subscription

MAX_MINUTES = 10080  # Outlook messages, events and contacts: under 7 days
VALIDATION_TIMEOUT_SECONDS = 10
_RESOURCE = re.compile(
    r"^/?(?:me|users/(?P<user>[^/]+)|users\('(?P<quoted>[^']+)'\))/"
    r"(?:(?:mailfolders(?:\('(?P<folder>[^']+)'\)|/(?P<folder2>[^/]+))/)?(?P<messages>messages)"
    r"|(?P<events>(?:calendar/)?events))$",
    re.IGNORECASE,
)
_CHANGE_TYPES = ("created", "updated", "deleted")


def _not_found() -> GraphError:
    return GraphError(404, "ResourceNotFound", "The object was not found.")


def subscription_json(ctx: Ctx, sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.client_id,
        "changeType": ",".join(sub.change_types),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_notification_url,
        "expirationDateTime": graph_datetime(sub.expiration),
        "creatorId": sub.creator_oid,
        "includeResourceData": None,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _expiration(ctx: Ctx, raw: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise GraphError(400, "InvalidRequest", "expirationDateTime is invalid.") from exc
    if moment.tzinfo is None:
        raise GraphError(400, "InvalidRequest", "expirationDateTime must include a time zone.")
    if moment <= ctx.now:
        raise GraphError(
            400,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: "
            "BadRequest; Reason: Subscription expiration must be in the future.]",
        )
    if moment > ctx.now + timedelta(minutes=MAX_MINUTES):
        raise GraphError(
            400,
            "ExtensionError",
            "Operation: Create; Exception: [Status Code: "
            "BadRequest; Reason: Subscription expiration can only be "
            f"{MAX_MINUTES} minutes in the future.]",
        )
    return moment


def _check_url(url: str) -> None:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    # Graph only calls https endpoints; plain http is allowed here for loopback listeners only,
    # since nothing off this machine is reachable from the sandbox anyway.
    if parsed.scheme != "https" and not (parsed.scheme == "http" and loopback):
        raise GraphError(
            400,
            "ValidationError",
            "The Url scheme for the 'NotificationUrl' "
            "parameter is not valid. Valid scheme is 'https'.",
        )


def _validate_endpoint(url: str) -> None:
    """Graph's handshake: POST ?validationToken=... and expect the token back as text/plain."""
    token = (
        f"Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()}"
    )
    separator = "&" if "?" in url else "?"
    try:
        answer = requests.post(
            f"{url}{separator}{urlencode({'validationToken': token})}",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            data=b"",
            timeout=VALIDATION_TIMEOUT_SECONDS,
        )
    except requests.Timeout as exc:
        raise GraphError(
            400, "InvalidRequest", "Subscription validation request timed out."
        ) from exc
    except requests.RequestException as exc:
        raise GraphError(
            400,
            "ValidationError",
            "Subscription validation request failed. "
            "Notification endpoint must respond with 200 OK to validation request.",
        ) from exc
    if answer.status_code != 200:
        raise GraphError(
            400,
            "ValidationError",
            "Subscription validation request failed. HTTP "
            f"status code is '{answer.reason}'. Notification endpoint must respond "
            "with 200 OK to validation request.",
        )
    if answer.text != token:
        raise GraphError(
            400,
            "ValidationError",
            "Subscription validation request failed. "
            "Response must exactly match validationToken query parameter.",
        )


@graph_root_route("POST", r"/(?i:subscriptions)", name="graph.subscriptions.create", locked=False)
def create_subscription(ctx: Ctx) -> Response:
    sandbox = ctx.request.sandbox
    data = ctx.json_body()
    with sandbox.lock:
        change_types = [c.strip() for c in str(data.get("changeType") or "").split(",") if c]
        if not change_types or any(c not in _CHANGE_TYPES for c in change_types):
            raise GraphError(
                400,
                "InvalidRequest",
                "changeType must be a comma-separated list of created, updated and deleted.",
            )
        url = str(data.get("notificationUrl") or "")
        _check_url(url)
        resource = str(data.get("resource") or "")
        found = _RESOURCE.match(resource)
        if found is None:
            raise GraphError(
                400,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: "
                f"BadRequest; Reason: The resource '{resource}' is not supported.]",
            )
        kind = "messages" if found.group("messages") else "events"
        target = resolve_target(
            ctx.state,
            ctx.token,
            ctx.caller,
            found.group("user") or found.group("quoted"),
            "mail.read" if kind == "messages" else "calendar.read",
        )
        folder_key = found.group("folder") or found.group("folder2")
        folder_id = None
        if folder_key:
            folder = ctx.state.folder_by_key(ctx.state.mailboxes[target.oid], folder_key)
            if folder is None:
                raise GraphError(
                    404,
                    "ExtensionError",
                    "Operation: Create; Exception: [Status "
                    "Code: NotFound; Reason: The specified folder could not be "
                    "found in the store.]",
                )
            folder_id = folder.id
        expiration = _expiration(ctx, data.get("expirationDateTime"))
        lifecycle = data.get("lifecycleNotificationUrl")
        if lifecycle:
            _check_url(str(lifecycle))
    _validate_endpoint(url)
    with sandbox.lock:
        sub = Subscription(
            id=str(uuid.uuid4()),
            client_id=ctx.grant.client_id,
            creator_oid=ctx.caller.oid,
            tenant_id=ctx.caller.tenant_id,
            mailbox_oid=target.oid,
            resource=resource,
            kind=kind,
            folder_id=folder_id,
            change_types=change_types,
            notification_url=url,
            client_state=data.get("clientState"),
            expiration=expiration,
            created_at=ctx.now,
            lifecycle_notification_url=str(lifecycle) if lifecycle else None,
            immutable_ids=parse_prefer(ctx.request).get("idtype", "").lower() == "immutableid",
        )
        ctx.request.sandbox.microsoft.subscriptions[sub.id] = sub
        return ctx.ok(
            {
                "@odata.context": f"{ctx.request.base_url}/graph/v1.0/$metadata#"
                "subscriptions/$entity",
                **subscription_json(ctx, sub),
            },
            status=201,
        )


def _own(ctx: Ctx) -> Subscription:
    sub = ctx.state.subscriptions.get(ctx.request.params["id"])
    if sub is None or sub.client_id != ctx.grant.client_id or sub.expiration <= ctx.now:
        raise _not_found()
    return sub


@graph_root_route("GET", r"/(?i:subscriptions)", name="graph.subscriptions.list")
def list_subscriptions(ctx: Ctx) -> Response:
    mine = [
        s
        for s in ctx.state.subscriptions.values()
        if s.client_id == ctx.grant.client_id
        and s.creator_oid == ctx.caller.oid
        and s.expiration > ctx.now
    ]
    return ctx.ok(
        {
            "@odata.context": f"{ctx.request.base_url}/graph/v1.0/$metadata#subscriptions",
            "value": [subscription_json(ctx, s) for s in mine],
        }
    )


@graph_root_route("GET", r"/(?i:subscriptions)/(?P<id>[^/]+)", name="graph.subscriptions.get")
def get_subscription(ctx: Ctx) -> Response:
    return ctx.ok(
        {
            "@odata.context": f"{ctx.request.base_url}/graph/v1.0/$metadata#subscriptions/$entity",
            **subscription_json(ctx, _own(ctx)),
        }
    )


@graph_root_route("PATCH", r"/(?i:subscriptions)/(?P<id>[^/]+)", name="graph.subscriptions.update")
def renew_subscription(ctx: Ctx) -> Response:
    sub = _own(ctx)
    data = ctx.json_body()
    if "expirationDateTime" in data:
        sub.expiration = _expiration(ctx, data["expirationDateTime"])
    return ctx.ok(
        {
            "@odata.context": f"{ctx.request.base_url}/graph/v1.0/$metadata#subscriptions/$entity",
            **subscription_json(ctx, sub),
        }
    )


@graph_root_route("DELETE", r"/(?i:subscriptions)/(?P<id>[^/]+)", name="graph.subscriptions.delete")
def delete_subscription(ctx: Ctx) -> Response:
    sub = _own(ctx)
    del ctx.state.subscriptions[sub.id]
    return ctx.empty(204)
