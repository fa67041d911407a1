"""A sync run's recounts, beside its pages (PostgreSQL).

    recounter = Recounter(organization)   # started with the run
    recounter.wake()                      # after each committed page
    recounter.hurry()                     # the download has ended: few pages are to come
    recounter.settle()                    # before the run reports: nothing is owed

Recounting a page's conversations (their counts, inbox rows and folder counters) is about a
quarter of what storing the page costs the database. Inside the page's transaction it adds to
every page; here a page only queues the conversations' ids (``threads_recount_later``, same
transaction), and this thread recounts the queue on a connection of its own while the run
stores the next pages. A conversation several pages touch is recounted once per drain, not
once per page. Once the download has ended, only the pages already downloaded are left to
store: from then on each is recounted as soon as it commits, so that what the last second of
pages queued is not all left to ``settle``, after the last page, while the run waits.

The run never reports before the queue is empty: ``settle`` stops the thread and drains the
rest on the run's own connection, where an error is the run's error. A worker killed mid-run
leaves its queue to the next run of any of the organization's mailboxes.
"""

from __future__ import annotations

import logging
import threading

from django.db import connection

from crm.models import Organization
from crm.tenancy import tenant_atomic
from integrations.mail.threads import threads_recount_pending

logger = logging.getLogger(__name__)

# A drain starts when a page has committed, or after this long without one.
IDLE_SECONDS = 2.0
# After a drain, the pages of the next second queue up: a conversation several of them touch
# (a thread's messages sit close together in the listing) is recounted once, not per page.
GATHER_SECONDS = 1.0


def recount_owed(organization: Organization) -> int:
    """Drain the organization's queue, one transaction per chunk; returns the entries taken."""
    total = 0
    while True:
        with tenant_atomic(organization):
            taken = threads_recount_pending()
        total += taken
        if not taken:
            return total


class Recounter(threading.Thread):
    def __init__(self, organization: Organization, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.organization = organization
        self.woken = threading.Event()
        self.hurried = threading.Event()
        self.stopped = threading.Event()

    def wake(self) -> None:
        self.woken.set()

    def run(self) -> None:
        try:
            while not self.stopped.is_set():
                self.woken.wait(IDLE_SECONDS)
                self.woken.clear()
                if self.stopped.is_set():
                    return
                try:
                    recount_owed(self.organization)
                except Exception:  # what is left stays queued: settle() drains it
                    logger.exception("recounting a sync's conversations failed")
                self.hurried.wait(GATHER_SECONDS)
        finally:
            connection.close()

    def hurry(self) -> None:
        """Recount what is queued now, and from now on each page as it commits, without
        gathering: the run is near its end."""
        self.hurried.set()
        self.woken.set()

    def settle(self) -> None:
        """Stop the thread (its drain in progress commits first), then drain the rest here."""
        self.stop()
        recount_owed(self.organization)

    def stop(self) -> None:
        self.stopped.set()
        self.hurried.set()
        self.woken.set()
        if self.is_alive():
            self.join()
