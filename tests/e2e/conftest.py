"""Browser tests: Playwright's sync API runs the test body in a context of its own, where the
ORM opens a connection the fixtures never see; it is closed when the body ends, so no session
outlives its test (the test database could not be dropped at the end of the run)."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from django.db import connections


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    try:
        return (yield)
    finally:
        connections.close_all()
