"""Re-encrypt every stored provider token under the newest key in ENCRYPTION_KEYS.

Rotation: put a new key first in ENCRYPTION_KEYS (keep the old ones after it), deploy, run this
command, then drop the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from crm.tenancy import all_tenants
from integrations.connections import vault
from integrations.connections.models import Connection, OAuthState


class Command(BaseCommand):
    help = "Re-encrypt stored provider tokens with the newest ENCRYPTION_KEYS entry."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        with transaction.atomic(), all_tenants():
            for connection in Connection.objects.unscoped().select_for_update().iterator():
                connection.access_token_encrypted = vault.rotate(connection.access_token_encrypted)
                connection.refresh_token_encrypted = vault.rotate(
                    connection.refresh_token_encrypted
                )
                connection.save(update_fields=["access_token_encrypted", "refresh_token_encrypted"])
                rotated += 1
            for pending in OAuthState.objects.unscoped().filter(used_at__isnull=True).iterator():
                pending.secret_encrypted = vault.rotate(pending.secret_encrypted)
                pending.save(update_fields=["secret_encrypted"])
        self.stdout.write(f"Re-encrypted the tokens of {rotated} connection(s).")
