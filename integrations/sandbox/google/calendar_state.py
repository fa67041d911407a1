"""Per-user Google Calendar state: calendars, their events, the change log, watch channels.

Every change to an event bumps its calendar's change counter and stamps the event with it; a sync
token is that counter (plus the calendar's token epoch), so an incremental list is "records
stamped after the token". ``expire_sync_tokens`` bumps the epoch: every token minted before
answers 410 fullSyncRequired, as Google does when it drops a token.

Events are kept as Google JSON (the ``Event`` resource) with times normalized to UTC plus the
event's own zone; rendering for a response re-projects them (see ``calendar_render``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Self

from integrations.sandbox.google.calendar_times import format_timestamp

DEFAULT_TIME_ZONE = "UTC"
# What a new Google account's primary calendar reports.
DEFAULT_REMINDERS = [{"method": "popup", "minutes": 10}]
BASE32HEX = "0123456789abcdefghijklmnopqrstuv"


def new_event_id() -> str:
    """A 26-character base32hex id, the alphabet Google allows for event ids."""
    return base64.b32hexencode(uuid.uuid4().bytes).decode().lower().rstrip("=")


def event_id_for(seed: str) -> str:
    """A stable event id derived from ``seed`` (generated events keep their ids across fills)."""
    digest = hashlib.sha256(seed.encode()).digest()[:16]
    return base64.b32hexencode(digest).decode().lower().rstrip("=")


def is_valid_event_id(value: str) -> bool:
    """Google: characters a-v and 0-9 (base32hex), 5 to 1024 of them."""
    return 5 <= len(value) <= 1024 and all(ch in BASE32HEX for ch in value)


@dataclass
class Channel:
    """A push channel opened by events.watch."""

    id: str
    resource_id: str
    resource_uri: str
    address: str
    calendar_id: str
    expiration_ms: int
    token: str | None = None
    message_number: int = 0  # the last X-Goog-Message-Number sent


@dataclass
class Calendar:
    id: str
    summary: str
    time_zone: str = DEFAULT_TIME_ZONE
    primary: bool = False
    description: str | None = None
    change: int = 0  # the calendar's change counter: the last stamp handed out
    token_epoch: int = 1  # sync tokens of an older epoch are expired
    updated: str | None = None  # RFC 3339, time of the last change
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Event resource
    stamps: dict[str, int] = field(default_factory=dict)  # id -> change counter of last change

    def stamp(self, event: dict[str, Any], now: datetime) -> None:
        """Record a change to ``event`` (already stored): new counter, etag and ``updated``."""
        self.change += 1
        event_id = event["id"]
        self.stamps[event_id] = self.change
        self.updated = format_timestamp(now)
        event["updated"] = self.updated
        event["etag"] = f'"{int(now.timestamp() * 1000) * 1000 + self.change % 1000}"'
        self.events[event_id] = event

    def etag(self) -> str:
        return f'"{self.token_epoch:02d}{self.change:012d}"'

    def exceptions_of(self, series_id: str) -> list[dict[str, Any]]:
        """The stored modified/cancelled instances of a recurring event."""
        return [e for e in self.events.values() if e.get("recurringEventId") == series_id]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**data)


class SyncTokenError(ValueError):
    """A sync token that was never valid here (400) — distinct from an expired one (410)."""


class SyncTokenExpired(Exception):
    pass


class CalendarStore:
    """One user's calendars (the primary one created on first use) and watch channels."""

    def __init__(self) -> None:
        self.calendars: dict[str, Calendar] = {}
        self.channels: dict[str, Channel] = {}
        self.default_time_zone = DEFAULT_TIME_ZONE

    # -- calendars -----------------------------------------------------------------------------

    def primary(self, owner: str) -> Calendar:
        """The user's primary calendar: its id is the account's email, as at Google."""
        for calendar in self.calendars.values():
            if calendar.primary:
                return calendar
        calendar = Calendar(id=owner, summary=owner, time_zone=self.default_time_zone, primary=True)
        self.calendars[calendar.id] = calendar
        return calendar

    def calendar(self, owner: str, calendar_id: str) -> Calendar | None:
        """Resolve ``primary`` and ids (Google compares calendar ids case-insensitively)."""
        if calendar_id == "primary":
            return self.primary(owner)
        self.primary(owner)
        wanted = calendar_id.lower()
        return next((c for c in self.calendars.values() if c.id.lower() == wanted), None)

    def expire_sync_tokens(self) -> None:
        for calendar in self.calendars.values():
            calendar.token_epoch += 1

    # -- sync tokens -----------------------------------------------------------------------------

    @staticmethod
    def sync_token(calendar: Calendar, change: int) -> str:
        raw = json.dumps([calendar.id, calendar.token_epoch, change], separators=(",", ":"))
        # Opaque like Google's ("CPDAlvWDx70CEPDAlvWDx70CGAU="): base64 of a small record.
        return "C" + base64.urlsafe_b64encode(raw.encode()).decode()

    @staticmethod
    def read_sync_token(calendar: Calendar, token: str) -> int:
        """The change counter a token stands for; raises on foreign or expired tokens."""
        try:
            if not token.startswith("C"):
                raise ValueError(token)
            calendar_id, epoch, change = json.loads(base64.urlsafe_b64decode(token[1:]))
            if not isinstance(epoch, int) or not isinstance(change, int):
                raise ValueError(token)
        except (ValueError, TypeError) as exc:
            raise SyncTokenError(token) from exc
        if str(calendar_id).lower() != calendar.id.lower():
            raise SyncTokenError(token)
        # A token from the future (state restored from an older save) cannot be honoured either:
        # the client must start over, exactly as with a token Google dropped.
        if epoch != calendar.token_epoch or change > calendar.change:
            raise SyncTokenExpired(token)
        return change

    # -- channels ----------------------------------------------------------------------------------

    @staticmethod
    def new_resource_id() -> str:
        return "".join(secrets.choice(BASE32HEX) for _ in range(27))

    def active_channels(self, calendar_id: str, now_ms: int) -> list[Channel]:
        """Open channels on a calendar; expired ones are dropped as Google stops them."""
        expired = [c.id for c in self.channels.values() if c.expiration_ms <= now_ms]
        for channel_id in expired:
            del self.channels[channel_id]
        return [c for c in self.channels.values() if c.calendar_id == calendar_id]

    # -- persistence -------------------------------------------------------------------------------

    def reset(self) -> None:
        self.calendars.clear()
        self.channels.clear()
        self.default_time_zone = DEFAULT_TIME_ZONE

    def to_dict(self) -> dict[str, Any]:
        return {
            "default_time_zone": self.default_time_zone,
            "calendars": [c.to_dict() for c in self.calendars.values()],
            "channels": [asdict(c) for c in self.channels.values()],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        store = cls()
        store.default_time_zone = data.get("default_time_zone", DEFAULT_TIME_ZONE)
        for item in data.get("calendars", []):
            calendar = Calendar.from_dict(item)
            store.calendars[calendar.id] = calendar
        for item in data.get("channels", []):
            channel = Channel(**item)
            store.channels[channel.id] = channel
        return store
