"""What the inbox lists and counts, kept up to date by ``threads_recount``.

A ``MailboxThread`` is a conversation as one mailbox holds it (``scope``: the mailbox's id), or as
the team holds it (``scope`` 0): every mailbox that is not private. It carries the folders, flags
and message counts the inbox filters and counts by, so a page is an index range and a folder's
numbers are a few ``FolderCount`` rows, whatever the size of the mailbox.
"""

from __future__ import annotations

from django.db import models

from crm.tenancy import TenantOwned, organization_field
from integrations.mail.models.messages import MailThread, Message


class InboxFolder(models.TextChoices):
    INBOX = "inbox", "Inbox"
    SENT = "sent", "Sent"
    ARCHIVE = "archive", "Archive"
    STARRED = "starred", "Starred"
    ALL = "all", "All mail"


# The listing's order, newest first; every folder has an index in it per mailbox and the team.
LISTING_ORDER = ("-last_message_at", "-thread_id")
FOLDER_CONDITIONS = {
    InboxFolder.INBOX: models.Q(in_inbox=True),
    InboxFolder.SENT: models.Q(in_sent=True),
    InboxFolder.ARCHIVE: models.Q(in_archive=True),
    InboxFolder.STARRED: models.Q(starred=True),
}


TEAM_SCOPE = 0  # the scope of the team's mail; any other scope is a mailbox id


def _listing_index(folder: InboxFolder) -> models.Index:
    return models.Index(
        fields=["organization", "scope", "-last_message_at", "-thread"],
        condition=FOLDER_CONDITIONS.get(folder),
        name=f"inbox_{folder.value}_idx",
    )


class MailboxThread(TenantOwned):
    """A conversation in one mailbox, or in the team's mail.

    A message is in a folder when one of its copies there is (archive: archived and in no
    inbox), unread when one of its copies is, starred likewise; the conversation is in a folder
    when one of its messages is, and archived when none of them is in the inbox.
    """

    # A mailbox id, or TEAM_SCOPE. A number rather than a nullable foreign key so that "the
    # team's rows" is an equality the listing indexes serve in order; rows of a deleted
    # mailbox are deleted with it (inbox_rows).
    scope = models.BigIntegerField()
    # The listing indexes lead with the organization.
    organization = organization_field(db_index=False, db_constraint=False)
    # Written only by the recount, which holds the conversation's row lock while it does: no
    # per-row check at commit (it could never fail). Deleting a conversation deletes its rows.
    # unique_thread_scope leads with it: a recount finds a conversation's rows through it.
    thread = models.ForeignKey(
        MailThread, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    last_message_at = models.DateTimeField()
    # The newest message; recounts replace the row when it goes, so no constraint is needed.
    latest_message = models.ForeignKey(
        Message, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    message_count = models.PositiveIntegerField(default=0)
    unread_count = models.PositiveIntegerField(default=0)
    in_inbox = models.BooleanField(default=False)
    in_sent = models.BooleanField(default=False)
    in_archive = models.BooleanField(default=False)
    starred = models.BooleanField(default=False)
    has_attachments = models.BooleanField(default=False)
    inbound = models.BooleanField(default=False)
    outbound = models.BooleanField(default=False)
    # Messages per folder, and the unread ones, for the flat message list's totals.
    inbox_messages = models.PositiveIntegerField(default=0)
    inbox_unread = models.PositiveIntegerField(default=0)
    sent_messages = models.PositiveIntegerField(default=0)
    sent_unread = models.PositiveIntegerField(default=0)
    archive_messages = models.PositiveIntegerField(default=0)
    archive_unread = models.PositiveIntegerField(default=0)
    starred_messages = models.PositiveIntegerField(default=0)
    starred_unread = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "scope"], name="unique_thread_scope")
        ]
        indexes = [_listing_index(folder) for folder in InboxFolder]

    def __str__(self) -> str:
        return f"Thread {self.thread_id} in {self.scope or 'the team'}"


class FolderCount(TenantOwned):
    """Conversations (and messages) in a folder of a mailbox or of the team, and how many are
    unread: the sum of a scope's rows over its ``slot``s. Recounts add their differences to the
    slot of their process, so concurrent syncs seldom wait on the same row."""

    scope = models.BigIntegerField()
    folder = models.CharField(max_length=10, choices=InboxFolder.choices)
    slot = models.PositiveSmallIntegerField(default=0)
    threads = models.IntegerField(default=0)
    unread_threads = models.IntegerField(default=0)
    messages = models.IntegerField(default=0)
    unread_messages = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "scope", "folder", "slot"], name="unique_folder_count"
            )
        ]

    def __str__(self) -> str:
        return f"{self.folder} of {self.scope or 'the team'} (slot {self.slot})"
