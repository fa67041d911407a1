"""Planner statistics that keep up with a big sync (PostgreSQL).

    keeper = StatisticsKeeper()
    keeper.stored(created)   # after each committed page: refreshes as the run grows

A run refreshes the statistics of the mail tables (``mail_statistics_refresh()``, migration
0010) once it has created FIRST_REFRESH messages, then each time it has GROWTH times what it
had created at the last refresh — the statistics are never more than that far off: a
20,000-message first sync refreshes three times, an incremental poll never. Each refresh is its
own short transaction, outside the page's.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction

logger = logging.getLogger(__name__)

FIRST_REFRESH = 1000
GROWTH = 4


class StatisticsKeeper:
    def __init__(self) -> None:
        self.created = 0
        self.next_refresh = FIRST_REFRESH

    def stored(self, created: int) -> None:
        """Count a committed page's new messages; refresh the statistics when it is time."""
        self.created += created
        if self.created < self.next_refresh or connection.vendor != "postgresql":
            return
        self.next_refresh = GROWTH * self.created
        if not statistics_refresh():
            logger.info("mail statistics not refreshed: the tables are being vacuumed")


def statistics_refresh() -> bool:
    """ANALYZE the mail tables now (False: a vacuum held them, nothing was done)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT mail_statistics_refresh()")
        (refreshed,) = cursor.fetchone()
    return bool(refreshed)
