"""Apply one page of provider changes to the database: idempotent, bulk, one transaction.

Messages are keyed by (mailbox, provider id) for copies and by RFC Message-ID per organization
for the message itself, so the same e-mail in two teammates' mailboxes is stored once. Every
step is a set-based query: the number of queries per page does not grow with its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from integrations.mail.matching import MatchPlan, MessageFilter, NewMessage, junk_folders
from integrations.mail.models import (
    Attachment,
    FailureStatus,
    Mailbox,
    MailFolder,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ParticipantRole,
    SyncFailure,
    SyncRun,
)
from integrations.mail.search_index import search_index_later
from integrations.mail.sql import tenant_rows_among, values_in
from integrations.mail.sync.placement import Placement, placement_of
from integrations.mail.sync.rows import insert_rows
from integrations.mail.threads import threads_recount, threads_recount_later
from integrations.providers.mail import FetchFailure, RemoteAddress, RemoteFlags, RemoteMessage

SUBJECT_LIMIT = 998


@dataclass
class PageOutcome:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    skipped: int = 0
    stored_ids: list[str] = field(default_factory=list)


def synthetic_message_id(mailbox: Mailbox, provider_id: str) -> str:
    """A stable key for a message that came without a Message-ID header."""
    return f"<{mailbox.provider}.{mailbox.pk}.{provider_id}@liaison.invalid>"


@dataclass
class _NewThread:
    """A conversation a page starts, with its counts as the page's messages give them (the
    recount that follows writes only what another page or mailbox changed)."""

    subject: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def add(self, sent_at: datetime) -> None:
        self.count += 1
        self.first = sent_at if self.first is None else min(self.first, sent_at)
        self.last = sent_at if self.last is None else max(self.last, sent_at)


class MailboxStore:
    """Writes pages of one mailbox's changes. Build one per run (it caches the filters).

    The conversations a page touched are recounted in its transaction, or with
    ``recount_later`` queued for the run's recounter (``sync/recount.py``, PostgreSQL). New
    messages are indexed for search by a task once the page commits, unless ``index_later``
    is off (the caller queues it)."""

    def __init__(
        self,
        mailbox: Mailbox,
        run: SyncRun,
        *,
        recount_later: bool = False,
        index_later: bool = True,
    ) -> None:
        self.mailbox = mailbox
        self.run = run
        # Off when the caller queues the search indexing itself (a sync run's SearchNudge).
        self.index_later = index_later
        self.recount: Callable[[Iterable[int]], object] = (
            threads_recount_later if recount_later else threads_recount
        )
        self.filter = MessageFilter(mailbox=mailbox)
        # Only this mailbox's runs (one at a time) record failures: when it has none open, no
        # page needs to resolve any.
        self.failures_open = (
            SyncFailure.objects.filter(mailbox=mailbox)
            .exclude(status=FailureStatus.RESOLVED)
            .exists()
        )
        self.refresh_roles()

    def refresh_roles(self) -> None:
        """Re-read the mailbox's folders (their roles place copies; junk ones create no
        contacts)."""
        self.roles = dict(
            MailFolder.objects.filter(mailbox=self.mailbox).values_list("provider_id", "role")
        )
        self.junk = junk_folders(self.mailbox)
        # A mailbox's messages sit in few combinations of folders: each is placed once.
        self.placements: dict[tuple[str, ...], Placement] = {}

    def _placement(self, folder_ids: Sequence[str]) -> Placement:
        key = tuple(folder_ids)
        place = self.placements.get(key)
        if place is None:
            place = self.placements[key] = placement_of(self.mailbox.provider, key, self.roles)
        return place

    # -- the page ------------------------------------------------------------------------------

    def apply(
        self,
        *,
        messages: Sequence[RemoteMessage],
        flags: Sequence[RemoteFlags] = (),
        removed: Sequence[str] = (),
        failures: Sequence[FetchFailure] = (),
        retrying: bool = False,
        left_role: str | None = None,
    ) -> PageOutcome:
        """Store one page. ``removed`` ids are deleted from the mailbox, unless the page comes
        from a folder-scoped stream (``left_role``: Graph's inbox, sent items or archive): then
        they only left that folder, perhaps for another synced one later in the run, and
        ``sweep_unfiled`` deletes what no synced folder holds once every stream was read."""
        outcome = PageOutcome()
        kept = []
        self.directions: dict[str, str] = {}
        for remote in messages:
            direction = self.filter.classify(remote)
            if direction is None:
                outcome.skipped += 1
            else:
                kept.append(remote)
                self.directions[remote.provider_id] = direction
        existing = self._existing_copies(
            [m.provider_id for m in kept] + [f.provider_id for f in flags]
        )
        fresh = [m for m in kept if m.provider_id not in existing]
        known = [m for m in kept if m.provider_id in existing]
        outcome.updated += self._update_copies(existing, known, flags)
        outcome.created += self._create(fresh)
        if left_role is None:
            outcome.deleted += self.remove(removed)
        else:
            outcome.updated += self._leave_folder(removed, left_role)
        # Messages the blocklist or the internal-only rule skips are removed if already stored.
        kept_ids = {m.provider_id for m in kept}
        skipped_ids = [m.provider_id for m in messages if m.provider_id not in kept_ids]
        if skipped_ids:
            outcome.deleted += self.remove(skipped_ids)
        outcome.failed += self._record_failures(failures, retrying=retrying)
        outcome.stored_ids = [m.provider_id for m in kept]
        self._resolve_failures(outcome.stored_ids + list(removed))
        return outcome

    # -- copies that exist already ---------------------------------------------------------------

    def _existing_copies(self, provider_ids: Iterable[str]) -> dict[str, MessageCopy]:
        ids = list(dict.fromkeys(provider_ids))
        if not ids:
            return {}
        # Every page asks, and in a first sync none exist: a raw read of their ids first.
        found = tenant_rows_among(
            "SELECT c.id FROM mail_messagecopy c",
            "c.provider_message_id",
            ids,
            "text",
            organization_id=self.mailbox.organization_id,
            where="c.mailbox_id = %s",
            params=[self.mailbox.pk],
        )
        if not found:
            return {}
        copies = MessageCopy.objects.filter(pk__in=values_in([pk for (pk,) in found]))
        return {c.provider_message_id: c for c in copies}

    def _update_copies(
        self,
        existing: dict[str, MessageCopy],
        known: Sequence[RemoteMessage],
        flags: Sequence[RemoteFlags],
    ) -> int:
        changes = [
            *((m.provider_id, m.folder_ids, m.is_read, m.is_starred) for m in known),
            *((f.provider_id, f.folder_ids, f.is_read, f.is_starred) for f in flags),
        ]
        changed: dict[int, MessageCopy] = {}
        for provider_id, folder_ids, is_read, is_starred in changes:
            copy = existing.get(provider_id)
            if copy is None:
                continue
            if self._set_flags(copy, folder_ids, is_read, is_starred):
                changed[copy.pk] = copy
        self._copies_save(list(changed.values()))
        return len(changed)

    def _copies_save(self, copies: Sequence[MessageCopy]) -> None:
        """Write copies whose folders or flags ``_set_flags`` changed; recount their threads."""
        if not copies:
            return
        MessageCopy.objects.bulk_update(
            copies, ["folder_ids", "is_read", "is_starred", "in_inbox", "in_sent", "is_archived"]
        )
        messages = Message.objects.filter(pk__in=values_in(list({c.message_id for c in copies})))
        self.recount(messages.values_list("thread_id", flat=True))

    def _set_flags(
        self, copy: MessageCopy, folder_ids: Sequence[str], is_read: bool, is_starred: bool
    ) -> bool:
        """Provider state onto the copy; a local change still being written through wins."""
        pending = copy.pending_flags or {}
        place = self._placement(folder_ids)
        wanted = {
            "folder_ids": list(folder_ids),
            "is_read": pending.get("is_read", is_read),
            "is_starred": pending.get("is_starred", is_starred),
            "in_inbox": place.in_inbox if "is_archived" not in pending else copy.in_inbox,
            "in_sent": place.in_sent,
            "is_archived": pending.get("is_archived", place.is_archived),
        }
        if all(getattr(copy, name) == value for name, value in wanted.items()):
            return False
        for name, value in wanted.items():
            setattr(copy, name, value)
        return True

    # -- new copies ----------------------------------------------------------------------------

    def _key(self, remote: RemoteMessage) -> str:
        return remote.rfc_message_id[:SUBJECT_LIMIT] or synthetic_message_id(
            self.mailbox, remote.provider_id
        )

    def _create(self, fresh: Sequence[RemoteMessage]) -> int:
        """Store new copies: the messages no mailbox had yet (with their threads, participants
        matched to the CRM and attachments), then this mailbox's copies."""
        if not fresh:
            return 0
        by_key: dict[str, RemoteMessage] = {}
        for remote in fresh:
            by_key.setdefault(self._key(remote), remote)
        # One lookup for the messages themselves and for those they reply to (their thread).
        references = {ref for r in by_key.values() for ref in (*r.references, r.in_reply_to) if ref}
        stored = self._messages_stored([*by_key, *references.difference(by_key)])
        messages = {key: stored[key] for key in by_key if key in stored}
        missing = [key for key in by_key if key not in messages]
        messages |= self._messages_create(
            {key: by_key[key] for key in missing},
            {ref: stored[ref][1] for ref in references if ref in stored},
        )
        if len(messages) < len(by_key):
            # Another mailbox's sync stored some of them a moment ago: theirs stand.
            messages |= self._messages_stored([k for k in by_key if k not in messages])
        organization_id = self.mailbox.organization_id
        copies = [
            self._copy_row(remote, messages[key][0], organization_id)
            for remote in fresh
            if (key := self._key(remote)) in messages
        ]
        insert_rows(MessageCopy, copies, ignore_conflicts=True)
        self.recount({thread_id for _, thread_id in messages.values()})
        return len(copies)

    def _messages_stored(self, keys: list[str]) -> dict[str, tuple[int, int]]:
        """RFC Message-ID → (id, thread id) of the stored messages among ``keys``."""
        if not keys:
            return {}
        rows = tenant_rows_among(
            "SELECT m.rfc_message_id, m.id, m.thread_id FROM mail_message m",
            "m.rfc_message_id",
            keys,
            "text",
            organization_id=self.mailbox.organization_id,
        )
        return {key: (pk, thread_id) for key, pk, thread_id in rows}

    def _messages_create(
        self, remotes: dict[str, RemoteMessage], referenced: dict[str, int]
    ) -> dict[str, tuple[int, int]]:
        """Insert messages keyed by RFC Message-ID, with their details; returns key → (id,
        thread id) of those this call created (never ones a concurrent sync inserted first).
        ``referenced``: the thread ids of stored messages they reply to, by Message-ID."""
        if not remotes:
            return {}
        directions = {key: self.directions[r.provider_id] for key, r in remotes.items()}
        threads = self._threads_for(remotes, referenced)
        organization_id = self.mailbox.organization_id
        rows = [
            self._message_row(remote, key, threads[key], directions[key], organization_id)
            for key, remote in remotes.items()
        ]
        created = {
            key: pk
            for pk, key in insert_rows(
                Message, rows, ignore_conflicts=True, returning=("id", "rfc_message_id")
            )
        }
        if created:
            self._details_create(created, remotes, threads, directions)
            if self.index_later:
                search_index_later(organization_id)
        return {key: (pk, threads[key]) for key, pk in created.items()}

    def _threads_for(
        self, remotes: dict[str, RemoteMessage], by_reference: dict[str, int]
    ) -> dict[str, int]:
        """Each new message's thread id: the provider thread's, a referenced message's (from
        ``by_reference``), or a new thread."""
        thread_ids = {r.provider_thread_id for r in remotes.values() if r.provider_thread_id}
        by_provider_thread: dict[str, int] = {}
        if thread_ids:
            by_provider_thread = dict(
                tenant_rows_among(
                    "SELECT c.provider_thread_id, m.thread_id FROM mail_messagecopy c "
                    "JOIN mail_message m ON m.id = c.message_id",
                    "c.provider_thread_id",
                    list(thread_ids),
                    "text",
                    organization_id=self.mailbox.organization_id,
                    where="c.mailbox_id = %s",
                    params=[self.mailbox.pk],
                )
            )
        assigned: dict[str, int | str] = {}  # an existing thread's id, or a new thread's label
        new_threads: dict[str, _NewThread] = {}
        for key, remote in remotes.items():
            found: int | str | None = by_provider_thread.get(remote.provider_thread_id)
            if found is None:
                found = next(
                    (
                        by_reference[ref]
                        for ref in (remote.in_reply_to, *reversed(remote.references))
                        if ref in by_reference
                    ),
                    None,
                )
            if found is None:
                label = f"p:{remote.provider_thread_id}" if remote.provider_thread_id else key
                thread = new_threads.get(label)
                if thread is None:
                    thread = new_threads[label] = _NewThread(remote.subject[:SUBJECT_LIMIT])
                thread.add(remote.sent_at)
                found = label
            assigned[key] = found
        labels = list(new_threads)
        organization_id = self.mailbox.organization_id
        ids = insert_rows(
            MailThread,
            [
                {
                    "organization_id": organization_id,
                    "subject": new_threads[k].subject,
                    "message_count": new_threads[k].count,
                    "first_message_at": new_threads[k].first,
                    "last_message_at": new_threads[k].last,
                    "shared_inbox_id": self.mailbox.shared_inbox_id,
                }
                for k in labels
            ],
            returning=("id",),
            in_order=True,
        )
        created = {label: row[0] for label, row in zip(labels, ids, strict=True)}
        return {
            key: created[found] if isinstance(found, str) else found
            for key, found in assigned.items()
        }

    def _message_row(
        self,
        remote: RemoteMessage,
        key: str,
        thread_id: int,
        direction: str,
        organization_id: int,
    ) -> dict[str, object]:
        return {
            "organization_id": organization_id,
            "rfc_message_id": key,
            "thread_id": thread_id,
            "subject": remote.subject,
            "sent_at": remote.sent_at,
            "from_address": remote.sender.address[:254] if remote.sender else "",
            "from_name": remote.sender.name[:255] if remote.sender else "",
            "snippet": remote.snippet[:300],
            "text_body": remote.text_body,
            "html_body": remote.html_body,
            "size": remote.size,
            "direction": direction,
            "has_attachments": any(not a.is_inline for a in remote.attachments),
            "in_reply_to": remote.in_reply_to[:SUBJECT_LIMIT],
            "references": " ".join(remote.references),
        }

    def _copy_row(
        self, remote: RemoteMessage, message_id: int, organization_id: int
    ) -> dict[str, object]:
        place = self._placement(remote.folder_ids)
        return {
            "organization_id": organization_id,
            "mailbox_id": self.mailbox.pk,
            "message_id": message_id,
            "provider_message_id": remote.provider_id,
            "provider_thread_id": remote.provider_thread_id,
            "folder_ids": list(remote.folder_ids),
            "is_read": remote.is_read,
            "is_starred": remote.is_starred,
            "in_inbox": place.in_inbox,
            "in_sent": place.in_sent,
            "is_archived": place.is_archived,
            "received_at": remote.received_at,
        }

    def _details_create(
        self,
        created: dict[str, int],
        remotes: dict[str, RemoteMessage],
        threads: dict[str, int],
        directions: dict[str, str],
    ) -> None:
        """Participants (matched to the CRM as they are written) and attachment metadata of
        the messages this page created; then the threads' CRM links."""
        organization_id = self.mailbox.organization_id
        people: list[tuple[int, str, RemoteAddress, int]] = []
        attachments: list[dict[str, object]] = []
        new_messages = []
        for key, message_id in created.items():
            remote = remotes[key]
            new_messages.append(
                NewMessage(
                    pk=message_id,
                    thread_id=threads[key],
                    direction=directions[key],
                    from_address=remote.sender.address[:254] if remote.sender else "",
                    from_name=remote.sender.name[:255] if remote.sender else "",
                    junk=not self.junk.isdisjoint(remote.folder_ids),
                )
            )
            position = 0
            for role, addresses in (
                (ParticipantRole.FROM, (remote.sender,) if remote.sender else ()),
                (ParticipantRole.TO, remote.to),
                (ParticipantRole.CC, remote.cc),
                (ParticipantRole.BCC, remote.bcc),
                (ParticipantRole.REPLY_TO, remote.reply_to),
            ):
                for address in addresses:
                    people.append((message_id, role, address, position))
                    position += 1
            attachments.extend(
                {
                    "organization_id": organization_id,
                    "message_id": message_id,
                    "provider_attachment_id": a.provider_attachment_id[:1024],
                    "part_id": a.part_id[:64],
                    "filename": a.filename[:255],
                    "content_type": a.content_type[:255] or "application/octet-stream",
                    "size": a.size,
                    "content_id": a.content_id[:255],
                    "is_inline": a.is_inline,
                }
                for a in remote.attachments
            )
        rows = [
            (message_id, role, address.address[:254], address.name[:255])
            for message_id, role, address, _ in people
        ]
        plan = MatchPlan(
            mailbox=self.mailbox, messages=new_messages, rows=rows, own=self.filter.own
        )
        insert_rows(
            Participant,
            [
                {
                    "organization_id": organization_id,
                    "message_id": message_id,
                    "role": role,
                    "address": address,
                    "name": name,
                    "contact_id": plan.matches[address].contact_id,
                    "account_id": plan.matches[address].account_id,
                    "position": position,
                }
                for (message_id, role, address, name), (*_, position) in zip(
                    rows, people, strict=True
                )
            ],
        )
        insert_rows(Attachment, attachments)
        plan.link()

    # -- removal ---------------------------------------------------------------------------------

    def _leave_folder(self, provider_ids: Sequence[str], role: str) -> int:
        """Take copies out of the folders with ``role``; a copy left in none stays (unfiled)
        until ``sweep_unfiled``."""
        folders = {provider_id for provider_id, r in self.roles.items() if r == role}
        copies = self._existing_copies(provider_ids)
        changed = [
            copy
            for copy in copies.values()
            if self._set_flags(
                copy,
                [f for f in copy.folder_ids or () if f not in folders],
                copy.is_read,
                copy.is_starred,
            )
        ]
        self._copies_save(changed)
        return len(changed)

    def sweep_unfiled(self) -> int:
        """Delete the copies no synced folder holds any more (they left one this run and
        arrived in no other): the message was deleted or moved out of what Liaison syncs."""
        unfiled = MessageCopy.objects.filter(mailbox=self.mailbox, folder_ids=[])
        return self.remove(list(unfiled.values_list("provider_message_id", flat=True)))

    def remove(self, provider_ids: Sequence[str]) -> int:
        """Copies gone from the mailbox; messages left without any copy disappear."""
        if not provider_ids:
            return 0
        copies = MessageCopy.objects.filter(
            mailbox=self.mailbox, provider_message_id__in=values_in(list(provider_ids), "text")
        )
        # Every thread that lost a copy is recounted, not only those that lost a message.
        held = dict(copies.values_list("message_id", "message__thread_id"))
        deleted, _ = copies.delete()
        if held:
            Message.objects.filter(pk__in=values_in(list(held)), copies__isnull=True).delete()
            self.recount(set(held.values()))
        return deleted

    # -- failures --------------------------------------------------------------------------------

    def _record_failures(self, failures: Sequence[FetchFailure], *, retrying: bool) -> int:
        retryable = [f for f in failures if not f.permanent]
        gone = [f.provider_id for f in failures if f.permanent]
        if gone:
            self.remove(gone)
        if not retryable:
            return 0
        self.failures_open = True
        known = {
            f.provider_message_id: f
            for f in SyncFailure.objects.filter(
                mailbox=self.mailbox, provider_message_id__in=[f.provider_id for f in retryable]
            )
        }
        new = []
        for failure in retryable:
            row = known.get(failure.provider_id)
            if row is None:
                new.append(
                    SyncFailure(
                        run=self.run,
                        mailbox=self.mailbox,
                        provider_message_id=failure.provider_id,
                        last_error=failure.reason[:2000],
                        organization_id=self.mailbox.organization_id,
                    )
                )
            else:
                row.run = self.run
                row.last_error = failure.reason[:2000]
                if row.status == FailureStatus.RESOLVED:
                    row.status, row.attempts = FailureStatus.FAILED, 1
                elif retrying:
                    row.attempts += 1
                    if row.attempts >= SyncFailure.MAX_ATTEMPTS:
                        row.status = FailureStatus.PERMANENTLY_FAILED
                row.save(update_fields=["run", "last_error", "status", "attempts", "updated_at"])
        SyncFailure.objects.bulk_create(new, ignore_conflicts=True)
        return len(retryable)

    def _resolve_failures(self, provider_ids: Sequence[str]) -> None:
        if provider_ids and self.failures_open:
            SyncFailure.objects.filter(
                mailbox=self.mailbox, provider_message_id__in=values_in(list(provider_ids), "text")
            ).exclude(status=FailureStatus.RESOLVED).update(status=FailureStatus.RESOLVED)
