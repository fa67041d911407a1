"""Read, star and archive whole conversations, as the inbox's rows and thread view do.

    conversation_flags(user=..., thread_ids=[...]) -> {thread id: ConversationFlags}
    conversations_flag_set(user=..., thread_ids=[...], flag=Flag.STARRED, value=True)

A conversation is acted on through its messages that the person may see and act on (the rules
of ``integrations.mail.flags``, which does the writing and the write-through). A star goes on
the newest of them only, and so does "mark unread", as mail clients do; taking the star off,
reading, archiving and unarchiving change every one of them. A conversation with nothing the
person may act on is left alone (``ConversationFlags.actionable`` is False for it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from crm.models import User
from integrations.mail.flags import Flag, MessageState, copies_actionable_by, set_flags
from integrations.mail.models import MessageCopy
from integrations.mail.visibility import VisibilityRules


@dataclass(frozen=True)
class ConversationFlags:
    """Where a conversation's actionable copies are: what its row may offer."""

    actionable: bool
    in_inbox: bool  # archiving applies
    archived: bool  # moving back to the inbox applies


def _actionable_copies(user: User, thread_ids: list[int]) -> QuerySet[MessageCopy]:
    rules = VisibilityRules.for_user(user)
    copies = MessageCopy.objects.filter(message__thread_id__in=thread_ids).filter(
        copies_actionable_by(user, admin=rules.everything)
    )
    return copies if rules.everything else copies.filter(rules.any)


def conversation_flags(*, user: User, thread_ids: Iterable[int]) -> dict[int, ConversationFlags]:
    """What the person may do to each conversation (one query for any number of them)."""
    ids = list(dict.fromkeys(thread_ids))
    places: dict[int, tuple[bool, bool]] = {}
    rows = _actionable_copies(user, ids).values_list(
        "message__thread_id", "in_inbox", "is_archived"
    )
    for thread_id, in_inbox, archived in rows:
        inbox, archive = places.get(thread_id, (False, False))
        places[thread_id] = (inbox or in_inbox, archive or archived)
    flags = {pk: ConversationFlags(False, False, False) for pk in ids}
    for pk, (inbox, archive) in places.items():
        flags[pk] = ConversationFlags(
            actionable=True, in_inbox=inbox, archived=archive and not inbox
        )
    return flags


def _newest_only(flag: Flag, value: bool) -> bool:
    return (flag, value) in ((Flag.STARRED, True), (Flag.READ, False))


def conversations_flag_set(
    *, user: User, thread_ids: Iterable[int], flag: Flag, value: bool
) -> list[MessageState]:
    """Set ``flag`` on the conversations (see the module's docstring); the states of the
    messages changed or checked, empty when there was nothing the person may act on."""
    ids = list(dict.fromkeys(thread_ids))
    rows: Any = (
        _actionable_copies(user, ids)
        .order_by()
        .values_list("message__thread_id", "message_id", "message__sent_at")
        .distinct()
    )
    newest: dict[int, tuple[datetime, int]] = {}
    message_ids: list[int] = []
    for thread_id, message_id, sent_at in rows:
        message_ids.append(message_id)
        if thread_id not in newest or (sent_at, message_id) > newest[thread_id]:
            newest[thread_id] = (sent_at, message_id)
    if _newest_only(flag, value):
        message_ids = [message_id for _, message_id in newest.values()]
    if not message_ids:
        return []
    return set_flags(user=user, message_ids=sorted(set(message_ids)), changes={flag: value})
