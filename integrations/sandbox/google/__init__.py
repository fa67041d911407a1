"""The sandbox's Google: OAuth 2.0 / OpenID Connect, Gmail v1 and Calendar v3 under ``/google/``.

Importing the package registers every route on the shared router. Calendar modules are
registered when present (they are written separately and may be absent in a partial tree).
"""

import importlib

from integrations.sandbox.google import (  # noqa: F401 - imported for their routes
    control,
    gmail_batch,
    gmail_history,
    gmail_labels,
    gmail_messages,
    gmail_send,
    gmail_threads,
    gmail_watch,
    oauth,
    oauth_token,
)

for _module in ("calendar_api", "calendar_control"):
    try:
        importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as _missing:
        if _missing.name != f"{__name__}.{_module}":
            raise
