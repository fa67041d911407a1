from tests.connections.conftest import providers  # noqa: F401 - shared fixtures
from tests.sync.worker import worker  # noqa: F401
