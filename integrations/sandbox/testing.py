"""pytest plugin: one in-process sandbox per test session, reset before every test.

Register with ``pytest_plugins = ["integrations.sandbox.testing"]``. Tests take ``sandbox``
(a :class:`SandboxClient` whose ``google_base_url``, ``microsoft_login_url``,
``microsoft_graph_url`` and ``ca_bundle`` point the real client libraries at the server) or
``sandbox_server`` (the :class:`SandboxServer` itself).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.sandbox.client import SandboxClient
from integrations.sandbox.server import SandboxServer
from integrations.sandbox.state import SandboxConfig


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    ca_dir = tmp_path_factory.mktemp("sandbox-ca")
    server = SandboxServer(
        port=0,
        config=SandboxConfig(auto_approve=True),
        ca_cert_path=ca_dir / "ca.pem",
        ca_key_path=ca_dir / "ca-key.pem",
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxClient]:
    """A fresh sandbox: no users, apps, faults or logged requests; start-up config; real clock."""
    client = SandboxClient(sandbox_server.base_url, sandbox_server.ca_bundle)
    client.reset()
    try:
        yield client
    finally:
        client.session.close()
