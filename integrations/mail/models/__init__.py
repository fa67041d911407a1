from integrations.mail.models.inbox import FolderCount, InboxFolder, MailboxThread
from integrations.mail.models.links import ThreadLinkSuppression, ThreadTask
from integrations.mail.models.mailboxes import (
    ContactCreation,
    FolderRole,
    Mailbox,
    MailboxKind,
    MailFolder,
    SharedInbox,
    SharedInboxAssignee,
    SyncState,
    Timeframe,
    Visibility,
)
from integrations.mail.models.matching import AddressRule, BlocklistEntry, LinkSource, ThreadLink
from integrations.mail.models.messages import (
    Attachment,
    Direction,
    MailThread,
    Message,
    MessageCopy,
    Participant,
    ParticipantRole,
)
from integrations.mail.models.sync import FailureStatus, RunStatus, RunTrigger, SyncFailure, SyncRun

__all__ = [
    "AddressRule",
    "Attachment",
    "BlocklistEntry",
    "ContactCreation",
    "Direction",
    "FailureStatus",
    "FolderCount",
    "FolderRole",
    "InboxFolder",
    "LinkSource",
    "MailFolder",
    "MailThread",
    "Mailbox",
    "MailboxKind",
    "MailboxThread",
    "Message",
    "MessageCopy",
    "Participant",
    "ParticipantRole",
    "RunStatus",
    "RunTrigger",
    "SharedInbox",
    "SharedInboxAssignee",
    "SyncFailure",
    "SyncRun",
    "SyncState",
    "ThreadLink",
    "ThreadLinkSuppression",
    "ThreadTask",
    "Timeframe",
    "Visibility",
]
