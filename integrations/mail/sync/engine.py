"""One sync run of one mailbox: list changes, fetch, store page by page, save cursors.

    run_open (API/scheduler) ─▶ task ─▶ mailbox_sync(run_id)
        claim the lease ─▶ driver ─▶ every stream's pages in order, fetched ahead by a second
        thread ─▶ store + cursor (one transaction per page) ─▶ COMPLETED |
        COMPLETED_WITH_ERRORS | FAILED

A page's data and its cursor commit together, so a worker killed at any moment resumes exactly
where the last committed page left off, and re-delivered work is idempotent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
from collections.abc import Generator, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError
from django.db import connection as db_connection
from django.utils import timezone

from crm.models import Organization
from crm.tenancy import current_organization, tenant_atomic, tenant_context
from integrations.connections.services import ConnectionUnusable
from integrations.mail.models import (
    FailureStatus,
    FolderRole,
    Mailbox,
    MailFolder,
    RunStatus,
    RunTrigger,
    SyncFailure,
    SyncRun,
    SyncState,
    Timeframe,
)
from integrations.mail.search_index import SearchNudge
from integrations.mail.sync.download import ForkedDownload, download_forks, stream_pages
from integrations.mail.sync.drivers import mailbox_driver
from integrations.mail.sync.interpreter import pipeline_interpreter
from integrations.mail.sync.lease import lease_seconds, run_claim, run_heartbeat
from integrations.mail.sync.recount import Recounter
from integrations.mail.sync.statistics import StatisticsKeeper
from integrations.mail.sync.store import MailboxStore
from integrations.providers.base import InvalidGrant, ProviderError, ProviderUnavailable
from integrations.providers.mail import (
    ChangePage,
    CursorExpired,
    FetchFailure,
    MailDriver,
    ProviderThrottled,
    RemoteMessage,
    SyncWindow,
)

logger = logging.getLogger(__name__)

TIMEFRAMES = {
    Timeframe.FIVE_MINUTES: timedelta(minutes=5),
    Timeframe.ONE_WEEK: timedelta(weeks=1),
    Timeframe.TWO_WEEKS: timedelta(weeks=2),
    Timeframe.ONE_MONTH: timedelta(days=31),
}
STREAM_LABELS = {"": "mailbox", "sentitems": "sent_items"}
MAX_RESYNCS_PER_RUN = 2
RETRY_CHUNK = 100
PAGES_AHEAD = 2
_END = object()
_STREAM_END = object()


class LeaseLost(Exception):
    """Another worker took the run over (this one was presumed dead): stop without writing."""


def window_for(timeframe: str, now: datetime) -> SyncWindow:
    span = TIMEFRAMES.get(Timeframe(timeframe)) if timeframe in Timeframe.values else None
    return SyncWindow(since=now - span if span else None)


def stream_label(stream: str) -> str:
    return STREAM_LABELS.get(stream, stream)


class _Heartbeat(threading.Thread):
    """Keeps the run's lease fresh while the worker lives, whatever the main thread waits on."""

    def __init__(self, organization: Organization, run_id: int, token: str) -> None:
        super().__init__(name=f"sync-heartbeat-{run_id}", daemon=True)
        self.organization, self.run_id, self.token = organization, run_id, token
        self.stopped = threading.Event()
        self.lost = threading.Event()

    def run(self) -> None:
        interval = max(1.0, lease_seconds() / 3)
        try:
            while not self.stopped.wait(interval):
                with tenant_context(self.organization):
                    if not run_heartbeat(self.run_id, self.token):
                        self.lost.set()
                        return
        finally:
            db_connection.close()


@contextlib.contextmanager
def _commits_without_flush_wait() -> Iterator[None]:
    """The pages' transactions need not wait for their WAL flush: a page and its cursor commit
    together, so a commit lost to a database crash only means the page is fetched again.
    Set for the session while the pages are stored (one statement per run, not per page)."""
    if db_connection.vendor != "postgresql":
        yield
        return
    with db_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        # A connection an error closed or broke takes the setting with it.
        if db_connection.connection is not None and not db_connection.needs_rollback:
            with contextlib.suppress(DatabaseError), db_connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


class MailboxSyncer:
    def __init__(self, run: SyncRun, token: str) -> None:
        self.run = run
        self.token = token
        self.mailbox: Mailbox = run.mailbox
        self.organization = self.mailbox.organization
        self.failed_messages = 0
        self.stream_roles: Mapping[str, str] = {}
        self.statistics = StatisticsKeeper(in_background=True)
        self.recounter: Recounter | None = None
        self.search = SearchNudge(self.organization.pk)

    # -- the run -----------------------------------------------------------------------------

    def execute(self) -> SyncRun:
        heartbeat = _Heartbeat(self.organization, self.run.pk, self.token)
        heartbeat.start()
        self.heartbeat = heartbeat
        if db_connection.vendor == "postgresql":
            self.recounter = Recounter(self.organization, f"sync-recount-{self.run.pk}")
            self.recounter.start()
        with tenant_atomic(self.organization):
            Mailbox.objects.filter(pk=self.mailbox.pk).update(sync_state=SyncState.RUNNING)
        try:
            self._sync_with_resyncs()
            self._recounts_settle()
        except LeaseLost:
            logger.warning("sync run %s was taken over by another worker", self.run.pk)
            return self.run
        except (InvalidGrant, ConnectionUnusable):
            self._finish(
                RunStatus.FAILED, "The connection expired; reconnect it to resume syncing."
            )
            self._mailbox_state(SyncState.ERROR, error="The connection expired; reconnect it.")
        except ProviderThrottled as exc:
            wait = exc.retry_after or 60.0
            self._finish(RunStatus.FAILED, f"The provider is throttling; resuming in {int(wait)}s.")
            self._mailbox_state(SyncState.THROTTLED, throttle_seconds=wait)
        except ProviderUnavailable as exc:
            self._finish(RunStatus.FAILED, exc.user_message)
            self._mailbox_state(SyncState.ERROR, error=exc.user_message, backoff=True)
        except ProviderError as exc:
            self._finish(RunStatus.FAILED, exc.user_message)
            self._mailbox_state(SyncState.ERROR, error=exc.user_message, backoff=True)
        else:
            status = (
                RunStatus.COMPLETED_WITH_ERRORS if self.failed_messages else RunStatus.COMPLETED
            )
            self._finish(status, "")
            self._mailbox_state(SyncState.IDLE, synced=True)
        finally:
            heartbeat.stopped.set()
            self._recounts_settle(best_effort=True)
            self.statistics.finish()
            self.search.finish()
        return self.run

    def _recounts_settle(self, *, best_effort: bool = False) -> None:
        """Recount what the committed pages queued, before the run reports. A failed run still
        recounts the pages it committed; an error there is logged, not raised over the run's."""
        recounter, self.recounter = self.recounter, None
        if recounter is None:
            return
        try:
            recounter.settle()
        except Exception:
            if not best_effort:
                raise
            logger.exception("sync run %s: recounting its conversations failed", self.run.pk)

    def _sync_with_resyncs(self) -> None:
        for attempt in range(MAX_RESYNCS_PER_RUN + 1):
            try:
                self._sync()
                return
            except CursorExpired as exc:
                if attempt == MAX_RESYNCS_PER_RUN:
                    raise ProviderUnavailable(
                        "The provider keeps expiring the sync cursor."
                    ) from exc
                logger.info("mailbox %s: cursor expired, full resync", self.mailbox.pk)
                self._reset_cursors()

    def _sync(self) -> None:
        driver = mailbox_driver(self.mailbox)
        self.stream_roles = driver.stream_roles
        self.store = MailboxStore(
            self.mailbox, self.run, recount_later=self.recounter is not None, index_later=False
        )
        if not self.store.roles or self.run.full_resync:
            self._sync_folders(driver)
        if self.run.trigger == RunTrigger.RETRY:
            self._retry_failed(driver)
            return
        window = window_for(self.run.timeframe, timezone.now())
        # Graph can ask for the first page of every folder in one $batch: an unchanged mailbox
        # then costs one provider call per poll.
        if (prefetch := getattr(driver, "prefetch", None)) is not None:
            prefetch(cursors=self.mailbox.cursors, window=window)
        self._sync_streams(driver, window)
        if driver.stream_roles:
            with tenant_atomic(self.organization):
                self._check_lease()
                self.run.deleted_count += self.store.sweep_unfiled()
                SyncRun.objects.filter(pk=self.run.pk).update(deleted_count=self.run.deleted_count)

    def _retry_failed(self, driver: MailDriver) -> None:
        """Fetch the FAILED messages again; three failed tries make one PERMANENTLY_FAILED."""
        failed = SyncFailure.objects.filter(mailbox=self.mailbox, status=FailureStatus.FAILED)
        if self.run.retry_ids:
            failed = failed.filter(provider_message_id__in=self.run.retry_ids)
        ids = list(failed.values_list("provider_message_id", flat=True))
        label = "retry"
        self._progress(label, status="RUNNING", total=len(ids))
        for start in range(0, len(ids), RETRY_CHUNK):
            self._check_lease()
            fetched = driver.fetch(ids[start : start + RETRY_CHUNK])
            messages = [m for m in fetched if isinstance(m, RemoteMessage)]
            failures = [f for f in fetched if isinstance(f, FetchFailure)]
            with tenant_atomic(self.organization):
                self._check_lease()
                outcome = self.store.apply(messages=messages, failures=failures, retrying=True)
                self.failed_messages += outcome.failed
                self.run.created_count += outcome.created
                self._progress(label, processed=len(messages), failed=outcome.failed)
                SyncRun.objects.filter(pk=self.run.pk).update(
                    folders=self.run.folders, created_count=self.run.created_count
                )
            self._committed()
            self.search.committed(outcome.created)
        self._progress(label, status="COMPLETED", commit=True)

    def _sync_folders(self, driver: MailDriver) -> None:
        folders = driver.folders()
        with tenant_atomic(self.organization):
            self._check_lease()
            existing = {f.provider_id: f for f in MailFolder.objects.filter(mailbox=self.mailbox)}
            for remote in folders:
                role = remote.role if remote.role in FolderRole.values else FolderRole.OTHER
                folder = existing.get(remote.provider_id)
                if folder is None:
                    MailFolder.objects.create(
                        mailbox=self.mailbox,
                        provider_id=remote.provider_id,
                        name=remote.name[:255],
                        role=role,
                    )
                elif (folder.name, folder.role) != (remote.name[:255], role):
                    folder.name, folder.role = remote.name[:255], role
                    folder.save(update_fields=["name", "role"])
        self.store.refresh_roles()

    def _sync_streams(self, driver: MailDriver, window: SyncWindow) -> None:
        """Every stream's pages, in order; a stream is COMPLETED once its last page committed."""
        current: str | None = None
        # Closed on an error too, not whenever the traceback lets go of it: the download
        # thread stops and the interpreter's settings are restored at once.
        with (
            contextlib.closing(self._pages_ahead(driver, window)) as pages,
            _commits_without_flush_wait(),
        ):
            for stream, item in pages:
                label = stream_label(stream)
                if stream != current:
                    current = stream
                    self._progress(label, status="RUNNING")
                if item is _STREAM_END:
                    self._progress(label, status="COMPLETED", commit=True)
                    continue
                self._check_lease()
                page, fetched = item
                self._store_page(stream, label, page, fetched)

    def _pages_ahead(
        self, driver: MailDriver, window: SyncWindow
    ) -> Generator[tuple[str, Any], None, None]:
        """Each stream's pages with their fetched messages, then ``_STREAM_END``, downloaded by
        a second thread while this one stores the page before: the network and the database
        wait at the same time, and the download goes on into the next stream while this one
        stores the last pages of the previous.

        Pages still arrive in order, so cursors are saved in order; an error in the download
        thread is raised here, at the page it happened. A first sync on Linux downloads in a
        forked process instead (``sync/download.py``), relayed by that thread.
        """
        pages: queue.Queue[Any] = queue.Queue(maxsize=PAGES_AHEAD)
        stop = threading.Event()
        # Each stream starts from its cursor as the run found it; only the storing thread
        # moves them on.
        cursors = dict(self.mailbox.cursors)

        def handed(item: tuple[str, Any]) -> bool:
            while not stop.is_set():
                try:
                    pages.put(item, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        def finished(error: BaseException | None) -> None:
            if error is None and self.recounter is not None:
                self.recounter.hurry()  # only the pages in the queue are left to store
            pages.put(_END if error is None else error)

        def download() -> None:
            try:
                with tenant_context(self.organization):
                    for stream, item in stream_pages(driver, cursors, window):
                        if not handed((stream, _STREAM_END if item is None else item)):
                            return
            except BaseException as exc:  # handed to the storing thread
                finished(exc)
            else:
                finished(None)
            finally:
                db_connection.close()

        worker: threading.Thread
        if download_forks(cursors):
            worker = ForkedDownload(
                driver=driver,
                cursors=cursors,
                window=window,
                organization=self.organization,
                deliver=handed,
                finish=finished,
                stream_end=_STREAM_END,
                stopped=stop,
                name=f"sync-download-{self.run.pk}",
            )
        else:
            worker = threading.Thread(
                target=download, name=f"sync-download-{self.run.pk}", daemon=True
            )
        with pipeline_interpreter():
            worker.start()
            try:
                while True:
                    item = pages.get()
                    if item is _END:
                        return
                    if isinstance(item, BaseException):
                        raise item
                    yield item
            finally:
                stop.set()
                while worker.is_alive():
                    with contextlib.suppress(queue.Empty):
                        pages.get(timeout=0.1)

    def _store_page(
        self, stream: str, label: str, page: ChangePage, fetched: list[RemoteMessage | FetchFailure]
    ) -> None:
        messages = [*page.messages, *(m for m in fetched if isinstance(m, RemoteMessage))]
        failures = [f for f in fetched if isinstance(f, FetchFailure)]
        with tenant_atomic(self.organization):
            self._check_lease()
            outcome = self.store.apply(
                messages=messages,
                flags=page.flags,
                removed=page.removed,
                failures=failures,
                left_role=self.stream_roles.get(stream),
            )
            # Only the run holding the lease moves the cursors: its own copy is the stored one.
            cursors = {**self.mailbox.cursors, stream: page.cursor}
            Mailbox.objects.filter(pk=self.mailbox.pk).update(cursors=cursors)
            self.mailbox.cursors = cursors
            self.failed_messages += outcome.failed
            self.run.created_count += outcome.created
            self.run.updated_count += outcome.updated
            self.run.deleted_count += outcome.deleted
            self._progress(
                label,
                processed=len(messages) + len(page.flags) + len(page.removed),
                failed=outcome.failed,
                total=page.total_estimate,
            )
            SyncRun.objects.filter(pk=self.run.pk).update(
                folders=self.run.folders,
                created_count=self.run.created_count,
                updated_count=self.run.updated_count,
                deleted_count=self.run.deleted_count,
            )
        self._committed()
        self.statistics.stored(outcome.created)
        self.search.committed(outcome.created)

    # -- bookkeeping -----------------------------------------------------------------------------

    def _committed(self) -> None:
        """A page committed: what it queued can be recounted."""
        if self.recounter is not None:
            self.recounter.wake()

    def _check_lease(self) -> None:
        if self.heartbeat.lost.is_set():
            raise LeaseLost

    def _progress(
        self,
        label: str,
        *,
        status: str | None = None,
        processed: int = 0,
        failed: int = 0,
        total: int | None = None,
        commit: bool = False,
    ) -> None:
        entry: dict[str, Any] = self.run.folders.setdefault(
            label, {"status": "PENDING", "total": 0, "processed": 0, "failed": 0}
        )
        if status:
            entry["status"] = status
        entry["processed"] += processed
        entry["failed"] += failed
        if total is not None and total > entry["total"]:
            entry["total"] = total
        entry["total"] = max(entry["total"], entry["processed"])
        if commit:
            with tenant_atomic(self.organization):
                SyncRun.objects.filter(pk=self.run.pk).update(folders=self.run.folders)

    def _reset_cursors(self) -> None:
        with tenant_atomic(self.organization):
            Mailbox.objects.filter(pk=self.mailbox.pk).update(cursors={})
            self.mailbox.cursors = {}
            self.run.full_resync = True
            SyncRun.objects.filter(pk=self.run.pk).update(full_resync=True)

    def _finish(self, status: str, error: str) -> None:
        with tenant_atomic(self.organization):
            for entry in self.run.folders.values():
                if entry["status"] in ("PENDING", "RUNNING"):
                    entry["status"] = "FAILED" if status == RunStatus.FAILED else "COMPLETED"
            self.run.status = status
            self.run.error = error
            self.run.completed_at = timezone.now()
            SyncRun.objects.filter(pk=self.run.pk, lease_token=self.token).update(
                status=status,
                error=error,
                completed_at=self.run.completed_at,
                folders=self.run.folders,
            )

    def _mailbox_state(
        self,
        state: str,
        *,
        error: str = "",
        synced: bool = False,
        throttle_seconds: float | None = None,
        backoff: bool = False,
    ) -> None:
        now = timezone.now()
        changes: dict[str, Any] = {"sync_state": state, "last_error": error}
        if synced:
            changes |= {"last_synced_at": now, "backoff_attempts": 0, "throttled_until": None}
        if throttle_seconds is not None:
            changes["throttled_until"] = now + timedelta(seconds=throttle_seconds)
            changes["next_sync_at"] = changes["throttled_until"]
        if backoff:
            attempts = self.mailbox.backoff_attempts + 1
            delay = min(3600.0, 30 * 2**attempts) * random.uniform(0.5, 1.0)  # noqa: S311
            changes |= {
                "backoff_attempts": attempts,
                "next_sync_at": now + timedelta(seconds=delay),
            }
        with tenant_atomic(self.organization):
            Mailbox.objects.filter(pk=self.mailbox.pk).update(**changes)


def mailbox_sync(*, run_id: int) -> SyncRun | None:
    """Run (or resume) sync run ``run_id`` in this worker, if nobody else holds it.

    Called inside the run's organization context. Each step is its own transaction, which
    re-applies the organization to the database session (SET LOCAL): a connection reopened
    since the context began must not see zero rows.
    """
    organization = current_organization()
    with tenant_atomic(organization):
        token = run_claim(run_id)
        if token is None:
            return None
        run = SyncRun.objects.select_related("mailbox", "mailbox__organization").get(pk=run_id)
    return MailboxSyncer(run, token).execute()


__all__ = ["mailbox_sync", "window_for"]
