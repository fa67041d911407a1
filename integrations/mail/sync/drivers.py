"""Build the provider driver for a mailbox, with tokens from the connection's vault."""

from __future__ import annotations

import importlib
import time
from typing import Protocol

from django.conf import settings

from integrations.connections import services as connection_services
from integrations.connections.models import Connection
from integrations.mail.models import Mailbox, MailboxKind
from integrations.providers.mail import DriverContext, MailDriver

DRIVER_MODULES = {
    "google": "integrations.providers.google.gmail",
    "microsoft": "integrations.providers.microsoft.graph_mail",
}


def token_reuse_seconds() -> float:
    """How long a driver reuses the access token it read: well inside the refresh margin, so
    a reused token always has minutes left; short, so a disconnect is seen within a minute."""
    return min(60.0, settings.TOKEN_REFRESH_MARGIN_SECONDS / 2)


class VaultTokens:
    """Access tokens read (and refreshed) through the connection's vault, in the database."""

    def current(self, connection_id: int) -> str:
        connection = Connection.objects.get(pk=connection_id)
        return connection_services.connection_access_token(connection=connection)

    def renewed(self, connection_id: int) -> str:
        connection = Connection.objects.get(pk=connection_id)
        return connection_services.connection_refresh(
            connection=connection, force=True
        ).access_token


class TokenSource(Protocol):
    def current(self, connection_id: int) -> str: ...

    def renewed(self, connection_id: int) -> str: ...


# Where drivers' tokens come from: the vault, or in a forked download process
# (``sync/download.py``) the parent it asks.
token_source: TokenSource = VaultTokens()


def mailbox_driver_context(mailbox: Mailbox) -> DriverContext:
    """The mailbox and live tokens from its connection (read, and refreshed, through the vault).

    A sync makes a provider call every few milliseconds: the token read from the connection
    (a query and a decryption) is reused for ``token_reuse_seconds``, not read per call."""
    connection_id = mailbox.connection_id
    kept: list[tuple[str, float]] = []

    def keep(token: str) -> str:
        kept[:] = [(token, time.monotonic() + token_reuse_seconds())]
        return token

    def current() -> str:
        if kept and time.monotonic() < kept[0][1]:
            return kept[0][0]
        return keep(token_source.current(connection_id))

    def renew() -> str:
        return keep(token_source.renewed(connection_id))

    return DriverContext(
        mailbox_address=mailbox.address,
        token=current,
        renew=renew,
        shared=mailbox.kind == MailboxKind.SHARED,
        # Fewer, larger pages: each page is one database transaction in the pipeline.
        options={"page_size": str(settings.MAIL_SYNC_PAGE_SIZE)},
    )


def mailbox_driver(mailbox: Mailbox) -> MailDriver:
    """The driver for ``mailbox``."""
    module = importlib.import_module(DRIVER_MODULES[mailbox.provider])
    driver: MailDriver = module.build_driver(mailbox_driver_context(mailbox))
    return driver
