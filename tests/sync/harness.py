"""Mailboxes connected to the sandbox without a browser, and what "in sync" means."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from integrations.connections.models import Connection
from integrations.mail.models import Mailbox, MessageCopy, RunStatus, SyncRun
from integrations.providers.google.oauth import CAPABILITY_SCOPES as GOOGLE_SCOPES
from integrations.providers.google.oauth import IDENTITY_SCOPES as GOOGLE_IDENTITY
from integrations.providers.microsoft.oauth import CAPABILITY_SCOPES as MICROSOFT_SCOPES
from integrations.providers.microsoft.oauth import IDENTITY_SCOPES as MICROSOFT_IDENTITY
from integrations.providers.microsoft.oauth import short_scope
from integrations.providers.sandbox_settings import SANDBOX_GOOGLE_CLIENT, SANDBOX_MICROSOFT_APP
from integrations.sandbox.client import SandboxClient
from tests.conftest import Tenant

GMAIL_EXCLUDED_LABELS = {
    "SPAM",
    "TRASH",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_SOCIAL",
    "CATEGORY_FORUMS",
    "CATEGORY_UPDATES",
}
GRAPH_SYNCED_FOLDERS = {"inbox", "sentitems", "archive"}


def _connection(
    tenant: Tenant, provider: str, email: str, token: dict[str, Any], tenant_id: str = ""
) -> Connection:
    connection = Connection(
        user=tenant.owner,
        provider=provider,
        account_id=f"{provider}:{email}",
        email=email,
        display_name=email,
        directory_tenant_id=tenant_id,
        capabilities=["email"],
        granted_scopes=[short_scope(s) for s in token.get("scope", "").split()],
        token_expires_at=timezone.now() + timedelta(seconds=int(token.get("expires_in", 3600))),
    )
    connection.store_tokens(
        access_token=token["access_token"], refresh_token=token.get("refresh_token")
    )
    connection.save()
    return connection


def google_mailbox(tenant: Tenant, sandbox: SandboxClient, email: str, **fields: Any) -> Mailbox:
    # Compared with the whole mailbox, so internal mail is kept too.
    fields.setdefault("exclude_internal", False)
    scopes = [*GOOGLE_IDENTITY, *GOOGLE_SCOPES["email"]]
    token = sandbox.call(
        "POST",
        "/google/tokens",
        json={
            "email": email,
            "client_id": SANDBOX_GOOGLE_CLIENT[0],
            "scopes": scopes,
            "offline": True,
        },
    )
    with tenant.scope():
        connection = _connection(tenant, "google", email, token)
        return Mailbox.objects.create(
            connection=connection, owner=tenant.owner, provider="google", address=email, **fields
        )


def microsoft_mailbox(
    tenant: Tenant, sandbox: SandboxClient, upn: str, directory: str, **fields: Any
) -> Mailbox:
    fields.setdefault("exclude_internal", False)
    scopes = [*MICROSOFT_IDENTITY, *MICROSOFT_SCOPES["email"], "offline_access"]
    token = sandbox.call(
        "POST",
        "/microsoft/tokens",
        json={"upn": upn, "client_id": SANDBOX_MICROSOFT_APP[0], "scopes": scopes},
    )
    with tenant.scope():
        connection = _connection(tenant, "microsoft", upn, token, directory)
        return Mailbox.objects.create(
            connection=connection, owner=tenant.owner, provider="microsoft", address=upn, **fields
        )


@dataclass(frozen=True)
class CopyState:
    is_read: bool
    is_starred: bool
    in_inbox: bool
    rfc_message_id: str


def expected_google(sandbox: SandboxClient, email: str, since_ms: int = 0) -> dict[str, CopyState]:
    rows = sandbox.google.messages(email)["messages"]
    return {
        row["id"]: CopyState(
            is_read="UNREAD" not in row["labelIds"],
            is_starred="STARRED" in row["labelIds"],
            in_inbox="INBOX" in row["labelIds"],
            rfc_message_id=row["rfc822msgid"] or "",
        )
        for row in rows
        if not GMAIL_EXCLUDED_LABELS & set(row["labelIds"]) and int(row["internalDate"]) >= since_ms
    }


def expected_microsoft(sandbox: SandboxClient, upn: str) -> dict[str, CopyState]:
    rows = sandbox.microsoft.messages(upn)["messages"]
    return {
        row["immutableId"]: CopyState(
            is_read=row["isRead"],
            is_starred=row["flag"]["flagStatus"] == "flagged",
            in_inbox=row["folder"] == "inbox",
            rfc_message_id=row.get("internetMessageId") or "",
        )
        for row in rows
        if row["folder"] in GRAPH_SYNCED_FOLDERS and not row.get("isDraft")
    }


def stored(tenant: Tenant, mailbox: Mailbox) -> dict[str, CopyState]:
    with tenant.scope():
        copies = MessageCopy.objects.filter(mailbox=mailbox).select_related("message")
        return {
            c.provider_message_id: CopyState(
                is_read=c.is_read,
                is_starred=c.is_starred,
                in_inbox=c.in_inbox,
                rfc_message_id=c.message.rfc_message_id,
            )
            for c in copies
        }


def differences(expected: dict[str, CopyState], actual: dict[str, CopyState]) -> dict[str, Any]:
    """What differs, ignoring synthetic ids given to messages that came without a Message-ID."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    flags = sorted(
        key
        for key in set(expected) & set(actual)
        if (expected[key].is_read, expected[key].is_starred, expected[key].in_inbox)
        != (actual[key].is_read, actual[key].is_starred, actual[key].in_inbox)
    )
    return (
        {
            "missing": missing[:10],
            "extra": extra[:10],
            "flags": flags[:10],
            "counts": (len(expected), len(actual)),
        }
        if (missing or extra or flags)
        else {}
    )


def last_run(tenant: Tenant, mailbox: Mailbox) -> SyncRun:
    with tenant.scope():
        return SyncRun.objects.filter(mailbox=mailbox).order_by("-pk").first()


FINISHED = {
    RunStatus.COMPLETED,
    RunStatus.COMPLETED_WITH_ERRORS,
    RunStatus.FAILED,
    RunStatus.CANCELLED,
}
