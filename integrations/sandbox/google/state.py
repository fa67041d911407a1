"""All of the sandbox's Google state: users and their mailboxes (and calendars), OAuth clients,
grants and tokens, Pub/Sub push endpoints for Gmail ``watch``, the signing key, quota usage.

Handlers reach it as ``request.sandbox.google`` and hold ``request.sandbox.lock`` around it.

Calendar lives next to mail but is written separately: each user's ``calendar`` attribute holds
an ``integrations.sandbox.google.calendar_state.CalendarStore`` (created with ``CalendarStore()``,
saved with its ``to_dict()``/``from_dict()``). That module is imported lazily; while it does not
exist, users simply have no calendar (``calendar is None``).
"""

from __future__ import annotations

import hashlib
import importlib
import time
from dataclasses import dataclass
from typing import Any

from integrations.sandbox.google.gmail_store import Mailbox
from integrations.sandbox.google.oauth_store import OAuthStore
from integrations.sandbox.google.quota import QuotaTracker
from integrations.sandbox.google.signing import SigningKey

_CALENDAR_MODULE = "integrations.sandbox.google.calendar_state"


def calendar_store_class() -> Any:
    """``CalendarStore`` from the calendar helper's module, or None while it does not exist."""
    try:
        module = importlib.import_module(_CALENDAR_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and _CALENDAR_MODULE.startswith(exc.name):
            return None
        raise
    return getattr(module, "CalendarStore", None)


def _new_calendar() -> Any:
    store_class = calendar_store_class()
    return store_class() if store_class is not None else None


@dataclass
class PushEndpoint:
    """Where a Pub/Sub topic delivers, like a push subscription on that topic."""

    topic_name: str
    push_endpoint: str
    audience: str  # the ``aud`` of the OIDC token in the push's Authorization header
    subscription: str
    service_account_email: str


@dataclass
class GoogleUser:
    email: str  # lower-case; the key everywhere
    name: str
    mailbox: Mailbox
    calendar: Any = None  # calendar_state.CalendarStore, or None while calendar is absent
    created_at: float = 0.0

    @property
    def sub(self) -> str:
        """A stable 21-digit subject id, like Google's numeric account ids."""
        digest = int(hashlib.sha256(self.email.encode()).hexdigest(), 16)
        return "1" + str(digest)[:20]

    def to_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "name": self.name,
            "created_at": self.created_at,
            "mailbox": self.mailbox.to_dict(),
            "calendar": self.calendar.to_dict() if self.calendar is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoogleUser:
        calendar = None
        store_class = calendar_store_class()
        if store_class is not None:
            saved = data.get("calendar")
            calendar = store_class.from_dict(saved) if saved is not None else store_class()
        return cls(
            email=data["email"],
            name=data["name"],
            mailbox=Mailbox.from_dict(data["mailbox"]),
            calendar=calendar,
            created_at=data.get("created_at", 0.0),
        )


class GoogleState:
    def __init__(self) -> None:
        self.users: dict[str, GoogleUser] = {}
        self.oauth = OAuthStore()
        self.push_endpoints: dict[str, PushEndpoint] = {}  # by topic name
        self.signing_key = SigningKey()
        self.quota = QuotaTracker()

    @property
    def calendars(self) -> dict[str, Any]:
        """Each user's calendar store by e-mail address (the calendar helper's slot)."""
        return {email: user.calendar for email, user in self.users.items()}

    def user(self, email: str) -> GoogleUser | None:
        return self.users.get(email.strip().lower())

    def add_user(self, email: str, name: str, now: float) -> GoogleUser:
        key = email.strip().lower()
        user = GoogleUser(
            email=key, name=name, mailbox=Mailbox(key), calendar=_new_calendar(), created_at=now
        )
        self.users[key] = user
        return user

    def reset(self) -> None:
        # The signing key survives a reset: regenerating it costs ~100 ms and changes nothing.
        self.users = {}
        self.oauth = OAuthStore()
        self.push_endpoints = {}
        self.quota = QuotaTracker()

    def quota_snapshot(self) -> dict[str, Any]:
        return {"gmail": self.quota.snapshot(time.monotonic())}

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": [user.to_dict() for user in self.users.values()],
            "oauth": self.oauth.to_dict(),
            "push_endpoints": [vars(p).copy() for p in self.push_endpoints.values()],
            "signing_key_pem": self.signing_key.to_pem(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GoogleState:
        state = cls()
        for saved in data.get("users", []):
            user = GoogleUser.from_dict(saved)
            state.users[user.email] = user
        state.oauth = OAuthStore.from_dict(data.get("oauth", {}))
        state.push_endpoints = {
            p["topic_name"]: PushEndpoint(**p) for p in data.get("push_endpoints", [])
        }
        if data.get("signing_key_pem"):
            state.signing_key = SigningKey(data["signing_key_pem"].encode("ascii"))
        return state
