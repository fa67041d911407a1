"""Mail's reactions to other apps' events."""

from typing import Any

from django.dispatch import receiver

from integrations.connections.signals import connection_connected
from integrations.mail import services


@receiver(connection_connected, dispatch_uid="mail-mailbox-for-connection")
def _mailbox_for_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    services.mailbox_for_connection(connection=connection)
