"""Isolation cases of the inbox and its folder counts (merged by test_api_isolation.py).

Both routes list the caller's own organization only and take no id in their path: Charlie's
calls must not show A's mail. A's mail there is stored without the inbox's rows, so the
stronger check lives in ``tests/mail/inbox/test_inbox_isolation.py``: A's mail synced through
the store (rows and counters built), B's user on every folder, both views, a search for A's
words, the counts, and A's mailbox, shared inbox, record and member as filters (404 / 400).
"""

from __future__ import annotations

from tests.isolation.cases import COLLECTION, Case

PREFIX = "/api/v1/integrations"

CASES: dict[str, Case] = {
    f"{PREFIX}/email/inbox": COLLECTION,
    f"{PREFIX}/email/folders/counts": COLLECTION,
}
