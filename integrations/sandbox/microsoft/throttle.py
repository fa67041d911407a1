"""Outlook's per-app, per-mailbox limits on Graph: concurrent requests and requests per 10 minutes.

Exchange Online allows an app 4 concurrent requests and 10,000 requests per 10 minutes against
one mailbox; beyond that Graph answers 429 with Retry-After. Counters use the sandbox clock so a
test can advance time instead of sleeping.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

WINDOW_SECONDS = 600
CONCURRENCY_RETRY_AFTER = 1


@dataclass(frozen=True)
class ThrottleVerdict:
    allowed: bool
    reason: str = ""  # "concurrency" | "rate"
    retry_after: int = 0


class Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._inflight: dict[tuple[str, str], int] = {}
            self._windows: dict[tuple[str, str], deque[float]] = {}
            self._rejected: dict[tuple[str, str], int] = {}

    def acquire(
        self, app: str, mailbox: str, now: datetime, *, concurrent_limit: int, window_limit: int
    ) -> ThrottleVerdict:
        """Count one request in; the caller must :meth:`release` it when allowed."""
        key = (app, mailbox)
        stamp = now.timestamp()
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= stamp - WINDOW_SECONDS:
                window.popleft()
            if self._inflight.get(key, 0) >= concurrent_limit:
                self._rejected[key] = self._rejected.get(key, 0) + 1
                return ThrottleVerdict(False, "concurrency", CONCURRENCY_RETRY_AFTER)
            if len(window) >= window_limit:
                self._rejected[key] = self._rejected.get(key, 0) + 1
                wait = window[0] + WINDOW_SECONDS - stamp if window else 1
                return ThrottleVerdict(False, "rate", max(1, math.ceil(wait)))
            window.append(stamp)
            self._inflight[key] = self._inflight.get(key, 0) + 1
            return ThrottleVerdict(True)

    def release(self, app: str, mailbox: str) -> None:
        key = (app, mailbox)
        with self._lock:
            count = self._inflight.get(key, 0) - 1
            if count > 0:
                self._inflight[key] = count
            else:
                self._inflight.pop(key, None)

    def snapshot(self, now: datetime, names: dict[str, str]) -> list[dict[str, Any]]:
        stamp = now.timestamp()
        with self._lock:
            keys = set(self._windows) | set(self._inflight) | set(self._rejected)
            rows = []
            for app, mailbox in sorted(keys):
                window = self._windows.get((app, mailbox), deque())
                rows.append(
                    {
                        "app": app,
                        "mailbox": names.get(mailbox, mailbox),
                        "in_flight": self._inflight.get((app, mailbox), 0),
                        "requests_last_10min": sum(1 for t in window if t > stamp - WINDOW_SECONDS),
                        "throttled": self._rejected.get((app, mailbox), 0),
                    }
                )
            return rows
