"""Gmail's per-user quota: quota units per method, a moving one-second window per user.

Costs are Google's published per-method table (developers.google.com/gmail/api/reference/quota).
The per-user limit is 250 units per user per second as a moving average; the sandbox keeps a
sliding one-second window (``config.gmail_quota_units_per_second``, None turns it off). A call
that does not fit is refused and charges nothing. Real Gmail answers that refusal with
``429 rateLimitExceeded`` and the message "User-rate limit exceeded.  Retry after <time>" (two
spaces, as Gmail writes it); batch sub-requests are charged one by one.

The window runs on the real monotonic clock, not the sandbox clock: rate limits are about how
fast a client calls, and a test that freezes or advances the sandbox clock must still recover.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

from integrations.sandbox.google.errors import abort
from integrations.sandbox.http import Abort

WINDOW_SECONDS = 1.0

GMAIL_METHOD_COSTS: dict[str, int] = {
    "drafts.create": 10,
    "drafts.delete": 10,
    "drafts.get": 5,
    "drafts.list": 5,
    "drafts.send": 100,
    "drafts.update": 15,
    "getProfile": 1,
    "history.list": 2,
    "labels.create": 5,
    "labels.delete": 5,
    "labels.get": 1,
    "labels.list": 1,
    "labels.update": 5,
    "labels.patch": 5,
    "messages.attachments.get": 5,
    "messages.batchDelete": 50,
    "messages.batchModify": 50,
    "messages.delete": 10,
    "messages.get": 5,
    "messages.import": 25,
    "messages.insert": 25,
    "messages.list": 5,
    "messages.modify": 5,
    "messages.send": 100,
    "messages.trash": 5,
    "messages.untrash": 5,
    "stop": 50,
    "watch": 100,
    "threads.delete": 20,
    "threads.get": 10,
    "threads.list": 10,
    "threads.modify": 10,
    "threads.trash": 10,
    "threads.untrash": 10,
}


def gmail_cost(route_name: str) -> int:
    """Units for a route named after its discovery method id, e.g. ``gmail.users.messages.get``."""
    return GMAIL_METHOD_COSTS[route_name.removeprefix("gmail.users.")]


class QuotaTracker:
    def __init__(self) -> None:
        self._windows: dict[str, deque[tuple[float, int]]] = {}
        self._in_window: dict[str, int] = {}
        self._used: dict[str, int] = {}
        self._refused: dict[str, int] = {}

    def _slide(self, user: str, now: float) -> deque[tuple[float, int]]:
        window = self._windows.setdefault(user, deque())
        while window and window[0][0] <= now - WINDOW_SECONDS:
            _, units = window.popleft()
            self._in_window[user] -= units
        return window

    def charge(self, user: str, units: int, limit: int | None, now: float) -> float | None:
        """Charge ``units`` at monotonic time ``now``; None if it fits, else seconds to wait."""
        if limit is None:
            self._used[user] = self._used.get(user, 0) + units
            return None
        window = self._slide(user, now)
        in_window = self._in_window.setdefault(user, 0)
        if in_window + units > limit:
            self._refused[user] = self._refused.get(user, 0) + 1
            excess = in_window + units - limit
            freed = 0
            for at, spent in window:
                freed += spent
                if freed >= excess:
                    return max(at + WINDOW_SECONDS - now, 0.001)
            return WINDOW_SECONDS
        window.append((now, units))
        self._in_window[user] = in_window + units
        self._used[user] = self._used.get(user, 0) + units
        return None

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        users = sorted(set(self._used) | set(self._refused))
        if now is not None:
            for user in users:
                self._slide(user, now)
        return {
            "users": {
                user: {
                    "units_used": self._used.get(user, 0),
                    "units_in_window": self._in_window.get(user, 0),
                    "calls_refused": self._refused.get(user, 0),
                }
                for user in users
            }
        }


def rate_limited(sandbox_now: datetime, wait_seconds: float) -> Abort:
    """Gmail's per-user rate-limit error, naming the time the window frees up."""
    retry_at = sandbox_now + timedelta(seconds=wait_seconds)
    stamp = retry_at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{retry_at.microsecond // 1000:03d}Z"
    return abort(
        429,
        f"User-rate limit exceeded.  Retry after {stamp}",
        reason="rateLimitExceeded",
        domain="usageLimits",
    )
