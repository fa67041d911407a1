"""Apply one page of provider changes to the database: idempotent, bulk, one transaction.

Messages are keyed by (mailbox, provider id) for copies and by RFC Message-ID per organization
for the message itself, so the same e-mail in two teammates' mailboxes is stored once. Every
step is a set-based query: the number of queries per page does not grow with its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from integrations.mail.matching import MessageFilter, match_messages
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
from integrations.mail.sync.placement import placement_of
from integrations.mail.threads import threads_recount
from integrations.providers.mail import FetchFailure, RemoteFlags, RemoteMessage

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


class MailboxStore:
    """Writes pages of one mailbox's changes. Build one per run (it caches the filters)."""

    def __init__(self, mailbox: Mailbox, run: SyncRun) -> None:
        self.mailbox = mailbox
        self.run = run
        self.filter = MessageFilter(mailbox=mailbox)
        self.refresh_roles()

    def refresh_roles(self) -> None:
        self.roles = dict(
            MailFolder.objects.filter(mailbox=self.mailbox).values_list("provider_id", "role")
        )

    # -- the page ------------------------------------------------------------------------------

    def apply(
        self,
        *,
        messages: Sequence[RemoteMessage],
        flags: Sequence[RemoteFlags] = (),
        removed: Sequence[str] = (),
        failures: Sequence[FetchFailure] = (),
        retrying: bool = False,
    ) -> PageOutcome:
        outcome = PageOutcome()
        kept = []
        for remote in messages:
            if self.filter.skip(remote):
                outcome.skipped += 1
            else:
                kept.append(remote)
        existing = self._existing_copies(
            [m.provider_id for m in kept] + [f.provider_id for f in flags]
        )
        fresh = [m for m in kept if m.provider_id not in existing]
        known = [m for m in kept if m.provider_id in existing]
        outcome.updated += self._update_copies(existing, known, flags)
        outcome.created += self._create(fresh)
        outcome.deleted += self.remove(removed)
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
        copies = MessageCopy.objects.filter(mailbox=self.mailbox, provider_message_id__in=ids)
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
        if changed:
            MessageCopy.objects.bulk_update(
                list(changed.values()),
                ["folder_ids", "is_read", "is_starred", "in_inbox", "in_sent", "is_archived"],
            )
        return len(changed)

    def _set_flags(
        self, copy: MessageCopy, folder_ids: Sequence[str], is_read: bool, is_starred: bool
    ) -> bool:
        """Provider state onto the copy; a local change still being written through wins."""
        pending = copy.pending_flags or {}
        place = placement_of(self.mailbox.provider, folder_ids, self.roles)
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
        if not fresh:
            return 0
        by_key: dict[str, RemoteMessage] = {}
        for remote in fresh:
            by_key.setdefault(self._key(remote), remote)
        messages = {
            m.rfc_message_id: m for m in Message.objects.filter(rfc_message_id__in=list(by_key))
        }
        missing = [key for key in by_key if key not in messages]
        threads = self._threads_for([by_key[k] for k in missing])
        new_messages = [self._message(by_key[key], key, threads[key]) for key in missing]
        Message.objects.bulk_create(new_messages, ignore_conflicts=True)
        messages = {
            m.rfc_message_id: m for m in Message.objects.filter(rfc_message_id__in=list(by_key))
        }
        created = [messages[k] for k in missing if k in messages]
        self._add_details(created, by_key)
        copies = [
            self._copy(remote, messages[self._key(remote)])
            for remote in fresh
            if self._key(remote) in messages
        ]
        MessageCopy.objects.bulk_create(copies, ignore_conflicts=True)
        threads_recount({m.thread_id for m in messages.values()})
        if created:
            match_messages(mailbox=self.mailbox, messages=created)
        return len(copies)

    def _threads_for(self, remotes: Sequence[RemoteMessage]) -> dict[str, MailThread]:
        """Each new message's thread: the provider thread's, a referenced message's, or new."""
        if not remotes:
            return {}
        thread_ids = {r.provider_thread_id for r in remotes if r.provider_thread_id}
        by_provider_thread = dict(
            MessageCopy.objects.filter(
                mailbox=self.mailbox, provider_thread_id__in=thread_ids
            ).values_list("provider_thread_id", "message__thread_id")
        )
        references = {ref for r in remotes for ref in (*r.references, r.in_reply_to) if ref}
        by_reference = dict(
            Message.objects.filter(rfc_message_id__in=references).values_list(
                "rfc_message_id", "thread_id"
            )
        )
        assigned: dict[str, int | MailThread] = {}
        new_by_provider_thread: dict[str, MailThread] = {}
        for remote in remotes:
            key = self._key(remote)
            found = by_provider_thread.get(remote.provider_thread_id) or next(
                (
                    by_reference[ref]
                    for ref in (remote.in_reply_to, *reversed(remote.references))
                    if ref in by_reference
                ),
                None,
            )
            if found is None and remote.provider_thread_id in new_by_provider_thread:
                found = new_by_provider_thread[remote.provider_thread_id]
            if found is None:
                thread = MailThread(
                    subject=remote.subject[:SUBJECT_LIMIT],
                    organization_id=self.mailbox.organization_id,
                )
                if remote.provider_thread_id:
                    new_by_provider_thread[remote.provider_thread_id] = thread
                found = thread
            assigned[key] = found
        fresh_threads = list(
            {id(t): t for t in assigned.values() if isinstance(t, MailThread)}.values()
        )
        MailThread.objects.bulk_create(fresh_threads)
        existing_ids = {t for t in assigned.values() if isinstance(t, int)}
        existing = MailThread.objects.in_bulk(list(existing_ids))
        return {key: (existing[t] if isinstance(t, int) else t) for key, t in assigned.items()}

    def _message(self, remote: RemoteMessage, key: str, thread: MailThread) -> Message:
        return Message(
            rfc_message_id=key,
            thread=thread,
            subject=remote.subject,
            sent_at=remote.sent_at,
            from_address=remote.sender.address if remote.sender else "",
            from_name=(remote.sender.name if remote.sender else "")[:255],
            snippet=remote.snippet[:300],
            text_body=remote.text_body,
            html_body=remote.html_body,
            size=remote.size,
            direction=self.filter.direction(remote),
            has_attachments=any(not a.is_inline for a in remote.attachments),
            in_reply_to=remote.in_reply_to[:SUBJECT_LIMIT],
            references=" ".join(remote.references),
            organization_id=self.mailbox.organization_id,
        )

    def _copy(self, remote: RemoteMessage, message: Message) -> MessageCopy:
        copy = MessageCopy(
            mailbox=self.mailbox,
            message=message,
            provider_message_id=remote.provider_id,
            provider_thread_id=remote.provider_thread_id,
            received_at=remote.received_at,
            organization_id=self.mailbox.organization_id,
        )
        self._set_flags(copy, remote.folder_ids, remote.is_read, remote.is_starred)
        return copy

    def _add_details(self, created: Sequence[Message], by_key: dict[str, RemoteMessage]) -> None:
        """Participants and attachment metadata of messages this page created."""
        if not created:
            return
        have = set(
            Participant.objects.filter(message__in=created)
            .values_list("message_id", flat=True)
            .distinct()
        )
        organization_id = self.mailbox.organization_id
        participants: list[Participant] = []
        attachments: list[Attachment] = []
        for message in created:
            if message.pk in have:
                continue  # another worker stored this message's details concurrently
            remote = by_key[message.rfc_message_id]
            roles = [
                (ParticipantRole.FROM, (remote.sender,) if remote.sender else ()),
                (ParticipantRole.TO, remote.to),
                (ParticipantRole.CC, remote.cc),
                (ParticipantRole.BCC, remote.bcc),
                (ParticipantRole.REPLY_TO, remote.reply_to),
            ]
            position = 0
            for role, addresses in roles:
                for address in addresses:
                    participants.append(
                        Participant(
                            message=message,
                            role=role,
                            address=address.address[:254],
                            name=address.name[:255],
                            position=position,
                            organization_id=organization_id,
                        )
                    )
                    position += 1
            attachments.extend(
                Attachment(
                    message=message,
                    provider_attachment_id=a.provider_attachment_id[:1024],
                    part_id=a.part_id[:64],
                    filename=a.filename[:255],
                    content_type=a.content_type[:255] or "application/octet-stream",
                    size=a.size,
                    content_id=a.content_id[:255],
                    is_inline=a.is_inline,
                    organization_id=organization_id,
                )
                for a in remote.attachments
            )
        Participant.objects.bulk_create(participants)
        Attachment.objects.bulk_create(attachments)

    # -- removal ---------------------------------------------------------------------------------

    def remove(self, provider_ids: Sequence[str]) -> int:
        """Copies gone from the mailbox; messages left without any copy disappear."""
        if not provider_ids:
            return 0
        copies = MessageCopy.objects.filter(
            mailbox=self.mailbox, provider_message_id__in=list(provider_ids)
        )
        message_ids = set(copies.values_list("message_id", flat=True))
        deleted, _ = copies.delete()
        if message_ids:
            orphans = Message.objects.filter(pk__in=message_ids, copies__isnull=True)
            thread_ids = set(orphans.values_list("thread_id", flat=True))
            orphans.delete()
            threads_recount(thread_ids)
        return deleted

    # -- threads ---------------------------------------------------------------------------------

    # -- failures --------------------------------------------------------------------------------

    def _record_failures(self, failures: Sequence[FetchFailure], *, retrying: bool) -> int:
        retryable = [f for f in failures if not f.permanent]
        gone = [f.provider_id for f in failures if f.permanent]
        if gone:
            self.remove(gone)
        if not retryable:
            return 0
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
        if provider_ids:
            SyncFailure.objects.filter(
                mailbox=self.mailbox, provider_message_id__in=list(provider_ids)
            ).exclude(status=FailureStatus.RESOLVED).update(status=FailureStatus.RESOLVED)
