"""Everything the Microsoft side of the sandbox remembers: the directory, grants, mailboxes.

Handlers reach it as ``request.sandbox.microsoft`` (through :func:`state_of`, which binds the
running sandbox's clock and notifier) and hold ``request.sandbox.lock`` while they use it.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.keys import SigningKey
from integrations.sandbox.microsoft.records import (
    AccessToken,
    App,
    AuthCode,
    DeltaState,
    Folder,
    Grant,
    Mailbox,
    RefreshToken,
    Subscription,
    Tenant,
    User,
    decode,
    encode,
)
from integrations.sandbox.microsoft.throttle import Throttle

# The well-known folders every Exchange mailbox has, in the order Outlook lists them.
WELL_KNOWN_FOLDERS: tuple[tuple[str, str], ...] = (
    ("archive", "Archive"),
    ("deleteditems", "Deleted Items"),
    ("drafts", "Drafts"),
    ("inbox", "Inbox"),
    ("junkemail", "Junk Email"),
    ("outbox", "Outbox"),
    ("sentitems", "Sent Items"),
)
ROOT_FOLDER = "msgfolderroot"
_DOMAIN_RE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}$")


class DirectoryError(ValueError):
    """A control-API request the directory cannot honour (unknown tenant, duplicate user)."""


class MicrosoftState:
    def __init__(self, signing_key: SigningKey | None = None) -> None:
        self.signing_key = signing_key or SigningKey.generate()
        self._sandbox: Any = None
        self.throttle = Throttle()
        self.reset()

    def reset(self) -> None:
        self.apps: dict[str, App] = {}
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[str, User] = {}  # by oid
        self.mailboxes: dict[str, Mailbox] = {}  # by oid
        self.grants: dict[str, Grant] = {}
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.delta_states: dict[str, DeltaState] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.pending_authorizations: dict[str, dict[str, str]] = {}  # consent screens shown
        self.throttle.reset()

    # -- the running sandbox -------------------------------------------------------------------

    def attach(self, sandbox: Any) -> MicrosoftState:
        self._sandbox = sandbox
        return self

    def now(self) -> Any:
        if self._sandbox is None:
            from datetime import UTC, datetime

            return datetime.now(UTC)
        return self._sandbox.now()

    def notify(self, url: str, *, headers: dict[str, str], body: dict[str, Any]) -> None:
        if self._sandbox is not None:
            self._sandbox.notify(url, headers=headers, body=body)

    @property
    def config(self) -> Any:
        return self._sandbox.config if self._sandbox is not None else None

    # -- directory -----------------------------------------------------------------------------

    def add_app(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        name: str | None = None,
    ) -> App:
        app = App(client_id, client_secret, list(redirect_uris), name or f"App {client_id[:8]}")
        self.apps[client_id] = app
        return app

    def add_tenant(
        self,
        *,
        domain: str,
        name: str,
        tenant_id: str | None = None,
        user_consent_allowed: bool = True,
    ) -> Tenant:
        domain = domain.lower()
        if not _DOMAIN_RE.match(domain):
            raise DirectoryError(f"not a domain name: {domain!r}")
        if any(t.domain == domain for t in self.tenants.values() if t.tenant_id != tenant_id):
            raise DirectoryError(f"domain {domain} is verified in another tenant")
        tid = str(uuid.UUID(tenant_id)) if tenant_id else ids.new_guid()
        tenant = Tenant(tid, domain, name, user_consent_allowed)
        self.tenants[tid] = tenant
        return tenant

    def add_user(
        self,
        *,
        tenant_id: str,
        email: str,
        name: str,
        shared: bool = False,
        delegates: list[str] | None = None,
    ) -> User:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            raise DirectoryError(f"no tenant {tenant_id}")
        upn = email.strip().lower()
        if self.find_user(upn) is not None:
            raise DirectoryError(f"user {upn} exists")
        delegate_oids = []
        for delegate in delegates or []:
            found = self.find_user(delegate)
            if found is None or found.shared:
                raise DirectoryError(f"no user {delegate} to delegate to")
            delegate_oids.append(found.oid)
        user = User(ids.new_guid(), tenant_id, upn, name, shared, delegate_oids)
        self.users[user.oid] = user
        self.mailboxes[user.oid] = _new_mailbox(user.oid)
        return user

    def find_user(self, key: str) -> User | None:
        """A user by object id or UPN (case-insensitive), as ``/users/{id | userPrincipalName}``."""
        if key in self.users:
            return self.users[key]
        lowered = key.lower()
        for user in self.users.values():
            if user.upn == lowered or user.oid == lowered:
                return user
        return None

    def resolve_tenant(self, segment: str) -> Tenant | None:
        """The directory an authority's first path segment names: tenant GUID or verified domain."""
        lowered = segment.lower()
        if lowered in self.tenants:
            return self.tenants[lowered]
        for tenant in self.tenants.values():
            if tenant.domain == lowered:
                return tenant
        return None

    def mailbox(self, oid: str) -> Mailbox:
        return self.mailboxes[oid]

    def folder_by_key(self, mailbox: Mailbox, key: str) -> Folder | None:
        """A folder by id or well-known name (``inbox``, ``sentitems``), case-insensitively."""
        if key in mailbox.folders:
            return mailbox.folders[key]
        lowered = key.lower()
        for folder in mailbox.folders.values():
            if folder.well_known == lowered:
                return folder
        return None

    def well_known_folder(self, mailbox: Mailbox, name: str) -> Folder:
        folder = self.folder_by_key(mailbox, name)
        assert folder is not None, name
        return folder

    def revoke_user(self, upn: str) -> int:
        """Revoke every grant of a user (as revokeSignInSessions): refresh tokens stop working."""
        user = self.find_user(upn)
        if user is None:
            raise DirectoryError(f"no user {upn}")
        revoked = 0
        for grant in self.grants.values():
            if grant.oid == user.oid and grant.revoked_at is None:
                grant.revoked_at = self.now()
                revoked += 1
        return revoked

    # -- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "signing_key": self.signing_key.to_dict(),
            "apps": encode(self.apps),
            "tenants": encode(self.tenants),
            "users": encode(self.users),
            "mailboxes": {oid: mb.to_dict() for oid, mb in self.mailboxes.items()},
            "grants": encode(self.grants),
            "codes": encode(self.codes),
            "refresh_tokens": encode(self.refresh_tokens),
            "access_tokens": encode(self.access_tokens),
            "delta_states": encode(self.delta_states),
            "subscriptions": encode(self.subscriptions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MicrosoftState:
        key = SigningKey.from_dict(data["signing_key"]) if data.get("signing_key") else None
        state = cls(key)
        tables: tuple[tuple[str, type], ...] = (
            ("apps", App),
            ("tenants", Tenant),
            ("users", User),
            ("grants", Grant),
            ("codes", AuthCode),
            ("refresh_tokens", RefreshToken),
            ("access_tokens", AccessToken),
            ("delta_states", DeltaState),
            ("subscriptions", Subscription),
        )
        for attr, record in tables:
            setattr(state, attr, {k: decode(record, v) for k, v in data.get(attr, {}).items()})
        state.mailboxes = {
            oid: Mailbox.from_dict(mb) for oid, mb in data.get("mailboxes", {}).items()
        }
        return state

    def quota_snapshot(self) -> dict[str, Any]:
        names = {oid: user.upn for oid, user in self.users.items()}
        return {"graph": self.throttle.snapshot(self.now(), names)}


def _new_mailbox(oid: str) -> Mailbox:
    mailbox = Mailbox(oid=oid)
    root = Folder(ids.folder_id(oid), "Top of Information Store", ROOT_FOLDER, None)
    mailbox.folders[root.id] = root
    for well_known, display_name in WELL_KNOWN_FOLDERS:
        folder = Folder(ids.folder_id(oid), display_name, well_known, root.id)
        mailbox.folders[folder.id] = folder
    return mailbox


def state_of(request: Any) -> MicrosoftState:
    """The request's Microsoft state, bound to the running sandbox (clock, notifier, config)."""
    state: MicrosoftState = request.sandbox.microsoft
    return state.attach(request.sandbox)
