from pathlib import Path
from typing import Any

import pytest

from tests.connections.conftest import providers  # noqa: F401 - shared fixture


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Attachments kept by the default storage land in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"
