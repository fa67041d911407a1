"""Inbox fixtures: the sandbox providers for the tests that sync through the real drivers."""

from tests.connections.conftest import providers  # noqa: F401 - shared fixture
