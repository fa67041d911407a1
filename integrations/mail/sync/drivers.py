"""Build the provider driver for a mailbox, with tokens from the connection's vault."""

from __future__ import annotations

import importlib

from django.conf import settings

from integrations.connections import services as connection_services
from integrations.connections.models import Connection
from integrations.mail.models import Mailbox, MailboxKind
from integrations.providers.mail import DriverContext, MailDriver

DRIVER_MODULES = {
    "google": "integrations.providers.google.gmail",
    "microsoft": "integrations.providers.microsoft.graph_mail",
}


def mailbox_driver_context(mailbox: Mailbox) -> DriverContext:
    """The mailbox and live tokens from its connection (read, and refreshed, through the vault)."""
    connection_id = mailbox.connection_id

    def current() -> str:
        connection = Connection.objects.get(pk=connection_id)
        return connection_services.connection_access_token(connection=connection)

    def renew() -> str:
        connection = Connection.objects.get(pk=connection_id)
        return connection_services.connection_refresh(
            connection=connection, force=True
        ).access_token

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
