"""``migrate`` as the schema owner when DATABASE_MIGRATE_URL is set.

The application's own role (DATABASE_URL) is deliberately unprivileged: no SUPERUSER, no
BYPASSRLS, no DDL. Migrations connect through the ``migrate`` database alias instead.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.commands.migrate import Command as MigrateCommand


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        if "migrate" in settings.DATABASES and options.get("database") == "default":
            options["database"] = "migrate"
        super().handle(*args, **options)
