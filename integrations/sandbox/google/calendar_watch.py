"""Push channels for events.watch: opening, stopping, and the notifications Google POSTs.

A notification has no body; everything is in headers: X-Goog-Channel-ID, X-Goog-Channel-Token
(only if the channel has one), X-Goog-Channel-Expiration, X-Goog-Resource-ID,
X-Goog-Resource-URI, X-Goog-Resource-State (``sync`` once when the channel opens, then
``exists`` on every change) and X-Goog-Message-Number (1 for the sync message, then increasing).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlsplit

from integrations.sandbox.google.calendar_errors import CalendarError, bad_request, required
from integrations.sandbox.google.calendar_state import Calendar, CalendarStore, Channel
from integrations.sandbox.google.calendar_times import millis

DEFAULT_TTL = timedelta(days=7)  # Calendar channels live a week unless asked otherwise
MAX_TTL = timedelta(days=30)  # longer requested expirations are cut to this
MAX_CHANNEL_ID_LENGTH = 64
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_address(address: Any) -> str:
    if not isinstance(address, str) or not address:
        raise required("Required", location="address")
    parts = urlsplit(address)
    # Google insists on HTTPS; the sandbox also lets loopback HTTP receivers through so a test
    # or a developer's laptop can listen without a certificate.
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        raise bad_request(
            f"WebHook callback must be HTTPS: {address}", reason="push.webhookUrlNotHttps"
        )
    return address


def _expiration(body: dict[str, Any], now: datetime) -> int:
    latest = millis(now + MAX_TTL)
    requested = body.get("expiration")
    if requested is not None:
        try:
            wanted = int(requested)
        except (TypeError, ValueError):
            raise bad_request("Invalid value for: expiration", reason="invalid") from None
        if wanted <= millis(now):
            raise bad_request("Invalid expiration time.", reason="invalid")
        return min(wanted, latest)
    ttl = (body.get("params") or {}).get("ttl")
    if ttl is not None:
        try:
            seconds = int(ttl)
        except (TypeError, ValueError):
            raise bad_request("Invalid ttl value.", reason="invalid") from None
        return min(millis(now) + seconds * 1000, latest)
    return millis(now + DEFAULT_TTL)


def open_channel(
    store: CalendarStore,
    calendar: Calendar,
    body: Any,
    *,
    base_url: str,
    calendar_id: str,
    now: datetime,
) -> Channel:
    """Validate a watch body and register its channel (the sync message is sent separately)."""
    if not isinstance(body, dict):
        raise bad_request("Parse Error", reason="parseError")
    channel_id = body.get("id")
    if not isinstance(channel_id, str) or not channel_id:
        raise required("Required", location="id")
    if len(channel_id) > MAX_CHANNEL_ID_LENGTH:
        raise bad_request("Channel id is too long.", reason="invalid")
    if body.get("type") not in ("web_hook", "webhook"):
        raise bad_request(f"Unknown channel type: {body.get('type')}", reason="invalid")
    address = _check_address(body.get("address"))
    store.active_channels(calendar.id, millis(now))
    if channel_id in store.channels:
        raise CalendarError(
            400, "channelIdNotUnique", f"Channel id {channel_id} not unique", domain="push"
        )
    token = body.get("token") if isinstance(body.get("token"), str) else None
    resource_uri = (
        f"{base_url}/google/calendar/v3/calendars/{quote(calendar_id, safe='@')}/events?alt=json"
    )
    channel = Channel(
        id=channel_id,
        resource_id=store.new_resource_id(),
        resource_uri=resource_uri,
        address=address,
        calendar_id=calendar.id,
        expiration_ms=_expiration(body, now),
        token=token,
    )
    store.channels[channel.id] = channel
    return channel


def channel_json(channel: Channel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "api#channel",
        "id": channel.id,
        "resourceId": channel.resource_id,
        "resourceUri": channel.resource_uri,
    }
    if channel.token is not None:
        body["token"] = channel.token
    body["expiration"] = str(channel.expiration_ms)
    return body


def stop_channel(store: CalendarStore, body: Any) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise required("Required", location="id")
    channel = store.channels.get(body["id"])
    resource_id = body.get("resourceId")
    if channel is None or (resource_id is not None and resource_id != channel.resource_id):
        raise CalendarError(404, "notFound", f"Channel '{body['id']}' not found for project")
    del store.channels[channel.id]


def _send(sandbox: Any, channel: Channel, state: str) -> None:
    channel.message_number += 1
    expires = datetime.fromtimestamp(channel.expiration_ms / 1000, tz=UTC)
    headers = {
        "X-Goog-Channel-ID": channel.id,
        "X-Goog-Channel-Expiration": format_datetime(expires, usegmt=True),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": channel.resource_uri,
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(channel.message_number),
    }
    if channel.token is not None:
        headers["X-Goog-Channel-Token"] = channel.token
    sandbox.notify(channel.address, headers=headers, body=None)


def send_sync(sandbox: Any, channel: Channel) -> None:
    """The ``sync`` message Google sends as soon as a channel opens."""
    _send(sandbox, channel, "sync")


def notify_change(sandbox: Any, store: CalendarStore, calendar: Calendar) -> None:
    """Tell every open channel on ``calendar`` that its events changed (state ``exists``)."""
    for channel in store.active_channels(calendar.id, millis(sandbox.now())):
        _send(sandbox, channel, "exists")
