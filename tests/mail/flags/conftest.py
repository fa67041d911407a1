"""Flag fixtures: the sandbox providers, and the write-through tasks recorded instead of run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.connections.conftest import providers  # noqa: F401 - shared fixture


@pytest.fixture(autouse=True)
def queued_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """(organization id, mailbox id) of each write-through task queued on commit; tests run
    the writer themselves, step by step."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "integrations.mail.tasks_flags.mailbox_flags_write_task.delay",
        lambda *args: calls.append(args),
    )
    return calls
