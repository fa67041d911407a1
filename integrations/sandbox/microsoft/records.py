"""Plain records the Microsoft sandbox keeps: directory, grants and tokens, mailboxes, events.

Every record is a dataclass that round-trips through :func:`encode` / :func:`decode` so the
whole :class:`~integrations.sandbox.microsoft.state.MicrosoftState` persists as JSON. Datetimes
and bytes are tagged so they come back as themselves.
"""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    """JSON-ready form of a record tree (dataclasses, dicts, lists, datetimes, bytes)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.name.startswith("_")
        }
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [encode(item) for item in value]
    return value


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$dt"}:
            return datetime.fromisoformat(value["$dt"])
        if set(value) == {"$b64"}:
            return base64.b64decode(value["$b64"])
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


def decode(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a flat record (its fields hold plain values, datetimes or bytes)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: decode_value(v) for k, v in data.items() if k in names})


# -- directory -------------------------------------------------------------------------------


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    name: str


@dataclass
class Tenant:
    tenant_id: str
    domain: str
    name: str
    # Tenants whose admins turned user consent off need admin consent for every scope.
    user_consent_allowed: bool = True
    admin_consents: dict[str, list[str]] = field(default_factory=dict)  # client_id -> scopes


@dataclass
class User:
    oid: str
    tenant_id: str
    upn: str
    name: str
    shared: bool = False  # a shared mailbox: no sign-in, reached through delegates
    delegates: list[str] = field(default_factory=list)  # oids with FullAccess


# -- grants and tokens -----------------------------------------------------------------------


@dataclass
class Grant:
    grant_id: str
    client_id: str
    oid: str
    tenant_id: str
    scopes: list[str]
    issued_at: datetime
    revoked_at: datetime | None = None


@dataclass
class AuthCode:
    code: str
    grant_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    issued_at: datetime
    authority_tenant: str
    redeemed: bool = False


@dataclass
class RefreshToken:
    token: str
    grant_id: str
    scopes: list[str]
    issued_at: datetime
    last_used_at: datetime


@dataclass
class AccessToken:
    token: str
    grant_id: str
    scopes: list[str]  # Graph scopes, short form ("Mail.Read")
    issued_at: datetime
    expires_at: datetime


# -- mail ------------------------------------------------------------------------------------


@dataclass
class Folder:
    id: str
    display_name: str
    well_known: str | None
    parent_id: str | None


@dataclass
class StoredMessage:
    immutable_id: str
    rest_id: str  # the default id; Exchange gives a moved item a new one
    folder_id: str
    raw: bytes
    received_at: datetime
    created_at: datetime
    modified_at: datetime
    is_read: bool
    is_draft: bool
    flag_status: str  # notFlagged | flagged | complete
    categories: list[str]
    change_key: str
    seq: int  # mailbox change sequence of the last change
    _parsed: Any = field(default=None, repr=False, compare=False)  # graph_render cache

    def set_raw(self, raw: bytes) -> None:
        self.raw = raw
        self._parsed = None


@dataclass
class ChangeEntry:
    """One line of a mailbox's change log; delta and notifications read it."""

    seq: int
    kind: str  # "message" | "event"
    item_id: str  # immutable message id or event id
    container: str  # folder id for messages, "" for events
    change: str  # created | updated | removed
    rest_id: str = ""  # a message's default id at the time (removals report the id then known)


# -- calendar --------------------------------------------------------------------------------


@dataclass
class StoredEvent:
    id: str
    ical_uid: str
    data: dict[str, Any]  # Graph-shaped writable fields: subject, body, start, end, recurrence...
    created_at: datetime
    modified_at: datetime
    change_key: str
    seq: int
    # Occurrences of a series that were deleted (original start, ISO UTC) or edited (overrides).
    cancelled_occurrences: list[str] = field(default_factory=list)
    occurrence_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)


# -- delta, subscriptions --------------------------------------------------------------------


@dataclass
class DeltaState:
    """What an opaque $deltatoken / $skiptoken stands for."""

    token: str
    oid: str
    kind: str  # "messages" | "events"
    container: str  # folder id, or "start|end" of a calendar view
    since_seq: int  # changes after this sequence belong to the round
    epoch: int  # the mailbox's delta epoch when issued; expire-delta bumps it
    issued_at: datetime
    select: list[str] | None
    page_size: int
    remaining: list[str] = field(default_factory=list)  # ids still to page through
    removed: list[str] = field(default_factory=list)  # ids to report as @removed
    next_seq: int = 0  # the deltaLink of this round starts here
    change_type: str | None = None
    received_after: str | None = None  # receivedDateTime ge filter of the first request


@dataclass
class Subscription:
    id: str
    client_id: str
    creator_oid: str
    tenant_id: str
    mailbox_oid: str
    resource: str
    kind: str  # "messages" | "events"
    folder_id: str | None
    change_types: list[str]
    notification_url: str
    client_state: str | None
    expiration: datetime
    created_at: datetime
    lifecycle_notification_url: str | None = None
    immutable_ids: bool = False  # created with Prefer: IdType="ImmutableId"


@dataclass
class Mailbox:
    """One user's or shared mailbox: folders, messages, calendar and their change log."""

    oid: str
    folders: dict[str, Folder] = field(default_factory=dict)
    messages: dict[str, StoredMessage] = field(default_factory=dict)  # by immutable id
    events: dict[str, StoredEvent] = field(default_factory=dict)
    event_tombstones: dict[str, StoredEvent] = field(default_factory=dict)  # deleted, for delta
    log: list[ChangeEntry] = field(default_factory=list)
    seq: int = 0
    delta_epoch: int = 0
    _rest_index: dict[str, str] = field(default_factory=dict, repr=False)  # rest id -> immutable

    def reindex(self) -> None:
        self._rest_index = {m.rest_id: m.immutable_id for m in self.messages.values()}

    def to_dict(self) -> dict[str, Any]:
        return encode(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Mailbox:
        mailbox = cls(
            oid=data["oid"],
            folders={k: decode(Folder, v) for k, v in data.get("folders", {}).items()},
            messages={k: decode(StoredMessage, v) for k, v in data.get("messages", {}).items()},
            events={k: decode(StoredEvent, v) for k, v in data.get("events", {}).items()},
            event_tombstones={
                k: decode(StoredEvent, v) for k, v in data.get("event_tombstones", {}).items()
            },
            log=[decode(ChangeEntry, e) for e in data.get("log", [])],
            seq=data.get("seq", 0),
            delta_epoch=data.get("delta_epoch", 0),
        )
        mailbox.reindex()
        return mailbox
