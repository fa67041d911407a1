"""Isolation cases of the mailbox and sync routes: A's shared mailbox, with a run and a failed
message carrying the marker, is a 404 for B on every route that names it."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.isolation.cases import COLLECTION, MARKER, Case, _connection

PREFIX = "/api/v1/integrations"


def _mailbox(tenant: Tenant) -> Any:
    from integrations.connections.models import Connection
    from integrations.mail.models import (
        FailureStatus,
        Mailbox,
        RunStatus,
        RunTrigger,
        SyncFailure,
        SyncRun,
    )

    existing = Mailbox.objects.filter(address=f"{MARKER}-shared@alpha.test").first()
    if existing is not None:
        return existing.pk
    connection = Connection.objects.get(pk=_connection(tenant))
    mailbox = Mailbox.objects.create(
        connection=connection,
        owner=tenant.owner,
        provider="microsoft",
        address=f"{MARKER}-shared@alpha.test",
        display_name=MARKER,
        kind="shared",
        last_error=MARKER,
    )
    run = SyncRun.objects.create(
        mailbox=mailbox,
        trigger=RunTrigger.MANUAL,
        timeframe="1m",
        status=RunStatus.COMPLETED_WITH_ERRORS,
        error=MARKER,
        folders={"inbox": {"status": "COMPLETED", "total": 1, "processed": 1, "failed": 1}},
    )
    SyncFailure.objects.create(
        run=run,
        mailbox=mailbox,
        provider_message_id=MARKER,
        status=FailureStatus.FAILED,
        last_error=MARKER,
    )
    return mailbox.pk


MAILBOX = Case(_mailbox)
CASES: dict[str, Case] = {
    f"{PREFIX}/email/mailboxes": COLLECTION,
    f"{PREFIX}/email/mailboxes/{{id}}": MAILBOX,
    f"{PREFIX}/email/mailboxes/{{id}}/sync": MAILBOX,
    f"{PREFIX}/email/mailboxes/{{id}}/sync/status": MAILBOX,
    f"{PREFIX}/email/mailboxes/{{id}}/sync/retry": Case(
        _mailbox, body={"sync_id": "1", "scope": "all_failed"}
    ),
    f"{PREFIX}/email/mailboxes/{{id}}/failures": MAILBOX,
    f"{PREFIX}/email/mailboxes/{{id}}/disconnect": MAILBOX,
    # B has no Microsoft 365 connection: A's must not be used, nor A's address found taken.
    f"{PREFIX}/email/mailboxes/connect": Case(body={"email": f"{MARKER}-shared@alpha.test"}),
    f"{PREFIX}/email/mailboxes/mappings": COLLECTION,
    f"{PREFIX}/email/sync": COLLECTION,
    f"{PREFIX}/connections/{{id}}/sync": Case(_connection, body={"type": "email"}),
}
