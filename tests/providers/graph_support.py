"""A Microsoft 365 tenant in the sandbox, and Graph mail drivers pointed at it over HTTPS.

``Vault`` stands in for the connection's token store: ``token()`` answers the current access
token, ``renew()`` refreshes through the real MSAL code (MicrosoftOAuth.refresh), so a revoked
grant surfaces as InvalidGrant exactly as in production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.providers.mail import DriverContext, RemoteMessage, SyncWindow
from integrations.providers.microsoft.graph import GraphClient
from integrations.providers.microsoft.graph_mail import GraphMailDriver
from integrations.providers.microsoft.oauth import MicrosoftOAuth
from integrations.providers.retry import RetryPolicy
from integrations.providers.sandbox_settings import SANDBOX_MICROSOFT_APP, sandbox_provider_settings
from integrations.sandbox.client import SandboxClient

DOMAIN = "contoso.test"
OWNER = f"megan@{DOMAIN}"
DELEGATE = f"adele@{DOMAIN}"
OUTSIDER = f"lee@{DOMAIN}"
SHARED = f"sales@{DOMAIN}"
SCOPES = ["User.Read", "Mail.ReadWrite", "Mail.ReadWrite.Shared", "offline_access"]
# Generous attempts: fault tests inject 30% failures; the rules are seeded, so this is stable.
TEST_POLICY = RetryPolicy(attempts=10, base_seconds=0.01, max_seconds=0.05)


@dataclass
class Vault:
    sandbox: SandboxClient
    upn: str
    access: str = ""
    refresh: str = ""
    renewals: int = 0

    def __post_init__(self) -> None:
        issued = self.sandbox.call(
            "POST",
            "/microsoft/tokens",
            json={"upn": self.upn, "client_id": SANDBOX_MICROSOFT_APP[0], "scopes": SCOPES},
        )
        self.access, self.refresh = issued["access_token"], issued["refresh_token"]

    def token(self) -> str:
        return self.access

    def renew(self) -> str:
        self.renewals += 1
        scopes = tuple(s for s in SCOPES if s != "offline_access")  # MSAL adds it itself
        grant = MicrosoftOAuth().refresh(refresh_token=self.refresh, scopes=scopes)
        self.access = grant.access_token
        self.refresh = grant.refresh_token or self.refresh
        return self.access


@dataclass
class GraphWorld:
    sandbox: SandboxClient
    tenant_id: str
    sleeps: list[float] = field(default_factory=list)

    def vault(self, upn: str = OWNER) -> Vault:
        return Vault(self.sandbox, upn)

    def context(self, vault: Vault, *, mailbox: str | None = None) -> DriverContext:
        address = mailbox or vault.upn
        return DriverContext(
            mailbox_address=address,
            token=vault.token,
            renew=vault.renew,
            shared=address != vault.upn,
        )

    def driver(
        self, vault: Vault | None = None, *, mailbox: str | None = None, page_size: int = 100
    ) -> GraphMailDriver:
        vault = vault or self.vault()
        ctx = self.context(vault, mailbox=mailbox)
        client = GraphClient(
            token=ctx.token, renew=ctx.renew, policy=TEST_POLICY, sleep=self.sleeps.append
        )
        return GraphMailDriver(ctx, client=client, page_size=page_size)

    def deliver(self, raw: str | bytes, *, folder: str = "inbox", **kwargs: Any) -> str:
        """Deliver to the owner's mailbox; answers the immutable id."""
        return self.sandbox.microsoft.deliver(OWNER, raw, folder=folder, **kwargs)["immutableId"]

    def calls(self, since: int) -> list[dict[str, Any]]:
        """Provider calls (HTTP requests to Graph) after log position ``since``."""
        return [
            entry
            for entry in self.sandbox.requests_log(since=since, provider="microsoft")
            if not entry.get("batch") and (entry.get("path") or "").startswith("/graph/")
        ]


def make_graph_world(sandbox: SandboxClient, settings: Any) -> GraphWorld:
    """Point Liaison's settings at the sandbox; a tenant with an owner, a delegate of the
    shared mailbox, and an outsider."""
    for name, value in sandbox_provider_settings(
        google_base_url=sandbox.google_base_url,
        microsoft_login_url=sandbox.microsoft_login_url,
        microsoft_graph_url=sandbox.microsoft_graph_url,
        ca_bundle=sandbox.ca_bundle,
    ).items():
        setattr(settings, name, value)
    sandbox.microsoft.create_app(*SANDBOX_MICROSOFT_APP, redirect_uris=["https://app.test/cb"])
    tenant = sandbox.microsoft.create_tenant(DOMAIN, "Contoso")
    tid = tenant["tenant_id"]
    for upn, name in ((OWNER, "Megan Bowen"), (DELEGATE, "Adele Vance"), (OUTSIDER, "Lee Gu")):
        sandbox.microsoft.create_user(tid, upn, name)
    sandbox.microsoft.create_shared_mailbox(tid, SHARED, "Contoso Sales", delegates=[DELEGATE])
    return GraphWorld(sandbox, tid)


def rfc822(
    subject: str,
    *,
    sender: str = "Ana Ruiz <ana@fabrikam.test>",
    to: str = f"Megan Bowen <{OWNER}>",
    message_id: str | None = None,
    headers: str = "",
    body: str = "Hello Megan,\r\n\r\nSee you soon.\r\n",
) -> str:
    mid = message_id or f"<{abs(hash(subject))}@fabrikam.test>"
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
        f"Date: Mon, 06 Jan 2025 10:00:00 +0000\r\nMessage-ID: {mid}\r\n{headers}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}"
    )


def initial_sync(
    driver: GraphMailDriver, window: SyncWindow | None = None
) -> tuple[dict[str, RemoteMessage], dict[str, str]]:
    """Every stream from no cursor, as the pipeline runs it (fetching what pages ask for):
    the messages by id, and the final cursors."""
    found: dict[str, RemoteMessage] = {}
    cursors: dict[str, str] = {}
    for stream in driver.streams:
        for page in driver.changes(stream=stream, cursor=None, window=window or SyncWindow(None)):
            for message in [*page.messages, *driver.fetch(page.fetch)]:
                assert isinstance(message, RemoteMessage), message
                found[message.provider_id] = message
            cursors[stream] = page.cursor
    return found, cursors
