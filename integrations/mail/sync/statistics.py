"""Planner statistics that keep up with a big sync (PostgreSQL).

    keeper = StatisticsKeeper()
    keeper.stored(created)   # after each committed page: refreshes as the run grows

A run refreshes the statistics of the mail tables (``mail_statistics_refresh()``, migration
0010) once it has created FIRST_REFRESH messages, then each time it has GROWTH times what it
had created at the last refresh — the statistics are never more than that far off: a
20,000-message first sync refreshes twice, an incremental poll never. (The planner scales the
row counts it last saw by the tables' current size, so what ages between refreshes is the
spread of values; a refresh costs PostgreSQL 0.1 to 0.15 CPU-s.) Each refresh is its
own short transaction, outside the page's; a run's keeper (``in_background``) runs it on a
connection of its own while the run goes on storing pages (ANALYZE blocks no writer).
"""

from __future__ import annotations

import logging
import threading

from django.db import connection, transaction

logger = logging.getLogger(__name__)

FIRST_REFRESH = 1000
GROWTH = 10
# A refresh samples 6,000 rows a table: it ends in well under a second.
FINISH_WAIT_SECONDS = 30.0


class StatisticsKeeper:
    def __init__(self, *, in_background: bool = False) -> None:
        self.created = 0
        self.next_refresh = FIRST_REFRESH
        self.in_background = in_background
        self.refreshing: threading.Thread | None = None

    def stored(self, created: int) -> None:
        """Count a committed page's new messages; refresh the statistics when it is time."""
        self.created += created
        if self.created < self.next_refresh or connection.vendor != "postgresql":
            return
        self.next_refresh = GROWTH * self.created
        if not self.in_background:
            _refresh_logged()
        elif self.refreshing is None or not self.refreshing.is_alive():
            self.refreshing = threading.Thread(
                target=_refresh_on_own_connection, name="mail-statistics-refresh", daemon=True
            )
            self.refreshing.start()

    def finish(self, timeout: float = FINISH_WAIT_SECONDS) -> None:
        """Wait for a refresh still running: nothing of the run outlives it."""
        if self.refreshing is not None:
            self.refreshing.join(timeout)


def _refresh_logged() -> None:
    if not statistics_refresh():
        logger.info("mail statistics not refreshed: the tables are being vacuumed")


def _refresh_on_own_connection() -> None:
    try:
        _refresh_logged()
    except Exception:  # statistics only steer the planner: the run goes on without them
        logger.exception("mail statistics refresh failed")
    finally:
        connection.close()


def statistics_refresh() -> bool:
    """ANALYZE the mail tables now (False: a vacuum held them, nothing was done)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT mail_statistics_refresh()")
        (refreshed,) = cursor.fetchone()
    return bool(refreshed)
