"""Push fixtures: the sandbox's providers, the site it pushes to, tasks captured not run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from integrations.mail.push import push_webhook_url
from integrations.mail.tasks import mailbox_sync_task
from integrations.mail.tasks_push import mailbox_push_refresh_task
from integrations.providers.google.push_tokens import push_keys_forget
from tests.connections.conftest import (
    Providers,
    providers,  # noqa: F401 - the fixture, shared
)
from tests.mail.push.support import Queued


@pytest.fixture(autouse=True)
def fresh_push_keys() -> Iterator[None]:
    """Google's signing keys are cached per process: each test fetches the sandbox's anew."""
    push_keys_forget()
    yield
    push_keys_forget()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    captured = Queued(syncs=[], refreshes=[])
    monkeypatch.setattr(mailbox_sync_task, "delay", lambda *a: captured.syncs.append(a))
    monkeypatch.setattr(mailbox_push_refresh_task, "delay", lambda *a: captured.refreshes.append(a))
    return captured


@pytest.fixture
def site(providers: Providers, live_server: Any, settings: Any) -> str:  # noqa: F811
    """Liaison served where the sandbox can reach it, with the Gmail topic pushing to it."""
    settings.SITE_URL = live_server.url
    providers.sandbox.call(
        "POST",
        "/google/push-endpoints",
        json={
            "topicName": settings.GOOGLE_PUBSUB_TOPIC,
            "pushEndpoint": push_webhook_url("google"),
        },
    )
    return str(live_server.url)
