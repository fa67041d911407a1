"""Mail fixtures: organization A owns alpha.test, Alice has a connected mailbox in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from config.celery import app
from integrations.mail.models import Mailbox
from tests.conftest import Tenant
from tests.mail.factories import ConnectionFactory, MailboxFactory


@pytest.fixture
def mailbox(org_a: Tenant) -> Mailbox:
    """Alice's mailbox (alice@alpha.test); alpha.test is A's own domain."""
    org_a.organization.email_domains = ["alpha.test"]
    org_a.organization.save(update_fields=["email_domains"])
    with org_a.scope():
        return MailboxFactory(connection=ConnectionFactory(user=org_a.owner))


@pytest.fixture
def eager_tasks(settings: Any) -> Iterator[None]:
    """Celery tasks run in the calling process (after the commit that queues them)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def commit(eager_tasks: None) -> Callable[[], None]:
    """Run what the current transaction queued for its commit, as a real commit would (the test
    transaction itself never commits): relink tasks run at once, in this process."""

    def run() -> None:
        connection = transaction.get_connection()
        while connection.run_on_commit:
            callbacks = [func for _, func, _ in connection.run_on_commit]
            connection.run_on_commit = []
            for callback in callbacks:
                callback()

    return run
