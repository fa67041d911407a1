"""A Gmail driver pointed at the in-process sandbox, with a token source that counts renewals.

Only settings differ from production (``sandbox_provider_settings``); the driver builds its own
google-api-python-client service from them. Tokens are minted through the sandbox's control API
(consent without a browser) and renewed through the real OAuth refresh, as the pipeline would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from integrations.providers.google.gmail import GmailDriver
from integrations.providers.google.oauth import GoogleOAuth
from integrations.providers.mail import ChangePage, DriverContext, SyncWindow
from integrations.providers.retry import RetryPolicy
from integrations.providers.sandbox_settings import (
    SANDBOX_GOOGLE_CLIENT,
    callback_urls,
    sandbox_provider_settings,
)
from integrations.sandbox.client import SandboxClient

OWNER = "olivia@liaison-test.com"
SCOPES = ["https://www.googleapis.com/auth/gmail.modify"]
# A test policy: as many rounds as production, but no real sleeping (sleeps are recorded).
FAST = RetryPolicy(attempts=6, base_seconds=0.0, max_seconds=0.0)


@dataclass
class TokenSource:
    """What the pipeline's DriverContext does: hand out the current token, renew on demand."""

    sandbox: SandboxClient
    address: str
    access_token: str = ""
    refresh_token: str = ""
    renewals: int = 0

    def mint(self) -> None:
        body = self.sandbox.call(
            "POST",
            "/google/tokens",
            json={"email": self.address, "client_id": SANDBOX_GOOGLE_CLIENT[0], "scopes": SCOPES},
        )
        self.access_token, self.refresh_token = body["access_token"], body["refresh_token"]

    def token(self) -> str:
        return self.access_token

    def renew(self) -> str:
        self.renewals += 1
        grant = GoogleOAuth().refresh(refresh_token=self.refresh_token, scopes=tuple(SCOPES))
        self.access_token = grant.access_token
        self.refresh_token = grant.refresh_token or self.refresh_token
        return self.access_token


@dataclass
class GmailBox:
    sandbox: SandboxClient
    tokens: TokenSource
    sleeps: list[float] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.tokens.address

    def driver(self, *, attempts: int = 10) -> GmailDriver:
        ctx = DriverContext(
            mailbox_address=self.address, token=self.tokens.token, renew=self.tokens.renew
        )
        return GmailDriver(
            ctx,
            policy=FAST,
            fetch_policy=RetryPolicy(attempts=attempts, base_seconds=0.0, max_seconds=0.0),
            sleep=self.sleeps.append,
        )

    def deliver(self, raw: bytes, **kwargs: Any) -> str:
        return str(self.sandbox.google.deliver(self.address, raw, **kwargs)["id"])

    def stored(self) -> list[dict[str, Any]]:
        """The sandbox's own view of the mailbox: id, labelIds, internalDate..."""
        return list(self.sandbox.google.messages(self.address)["messages"])

    def api_calls(self, since: int) -> list[dict[str, Any]]:
        """Gmail API calls logged after ``since`` (batch envelopes and control calls left out)."""
        return [
            entry
            for entry in self.sandbox.requests_log(since=since, provider="google")
            if (entry.get("route") or "").startswith("gmail.")
        ]


def gmail_box(sandbox: SandboxClient, settings: Any) -> GmailBox:
    """Liaison's settings pointed at the sandbox, a Gmail user, and a fresh grant."""
    for name, value in sandbox_provider_settings(
        google_base_url=sandbox.google_base_url,
        microsoft_login_url=sandbox.microsoft_login_url,
        microsoft_graph_url=sandbox.microsoft_graph_url,
        ca_bundle=sandbox.ca_bundle,
    ).items():
        setattr(settings, name, value)
    # Gmail's per-user quota would make these tests wait like a real client; it has its own tests.
    sandbox.set_config(gmail_quota_units_per_second=None)
    sandbox.google.create_client(
        *SANDBOX_GOOGLE_CLIENT, redirect_uris=[callback_urls("http://testserver")["google"]]
    )
    sandbox.google.create_user(OWNER, "Olivia Owner")
    tokens = TokenSource(sandbox, OWNER)
    tokens.mint()
    return GmailBox(sandbox, tokens)


def all_pages(driver: GmailDriver, cursor: str | None, window: SyncWindow) -> list[ChangePage]:
    return list(driver.changes(stream="", cursor=cursor, window=window))


def email(
    subject: str,
    *,
    sender: str = "Carl Client <carl@client.test>",
    to: str = OWNER,
    body: str = "Hello there.",
    date: datetime | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if date is not None:
        message["Date"] = date.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = make_msgid(domain="client.test")
    message.set_content(body)
    return bytes(message)
