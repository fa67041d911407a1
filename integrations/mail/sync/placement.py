"""Where a copy sits, derived from its folders/labels: inbox, sent, archived."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Gmail's system labels, for a label not yet in the mailbox's folder table.
GMAIL_SYSTEM_ROLES = {
    "INBOX": "inbox",
    "SENT": "sent",
    "DRAFT": "drafts",
    "SPAM": "spam",
    "TRASH": "trash",
}
NOT_ARCHIVED = {"inbox", "sent", "drafts", "spam", "trash"}


@dataclass(frozen=True)
class Placement:
    in_inbox: bool
    in_sent: bool
    is_archived: bool


def placement_of(provider: str, folder_ids: Iterable[str], roles: dict[str, str]) -> Placement:
    found = {roles.get(f) or GMAIL_SYSTEM_ROLES.get(f, "other") for f in folder_ids}
    in_inbox = "inbox" in found
    in_sent = "sent" in found
    if provider == "google":
        # Gmail has no Archive folder: archived mail is mail outside the inbox (and not only
        # sent, drafted, spam or trash).
        archived = not (found & NOT_ARCHIVED)
    else:
        archived = "archive" in found
    return Placement(in_inbox=in_inbox, in_sent=in_sent, is_archived=archived)
