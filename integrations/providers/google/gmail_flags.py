"""Read, star and archive written to Gmail: labels changed with ``messages.batchModify``.

Gmail keeps all three as labels: UNREAD, STARRED and INBOX (archived mail is mail without
INBOX). Changes asking for the same labels travel together, up to 1,000 ids per call. Gmail
skips ids of messages that no longer exist in a batchModify; should it refuse a whole call
instead (400/404), each message of that call is sent alone with ``messages.modify`` so the
missing ones can be told apart and dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from integrations.providers.base import InvalidGrant, ProviderError, ProviderUnavailable
from integrations.providers.mail import FlagChange, FlagResult, ProviderThrottled

BATCH_MODIFY_LIMIT = 1000
Execute = Callable[[Any, str], Any]
Labels = tuple[tuple[str, ...], tuple[str, ...]]


def labels_for(change: FlagChange) -> Labels:
    """(labels to add, labels to remove) for one change."""
    add: list[str] = []
    remove: list[str] = []
    if change.is_read is not None:
        (remove if change.is_read else add).append("UNREAD")
    if change.is_starred is not None:
        (add if change.is_starred else remove).append("STARRED")
    if change.archived is not None:
        (remove if change.archived else add).append("INBOX")
    return tuple(add), tuple(remove)


def write_flags(messages: Any, changes: Sequence[FlagChange], execute: Execute) -> list[FlagResult]:
    """One FlagResult per change, in order; InvalidGrant goes up."""
    groups: dict[Labels, list[str]] = {}
    for change in changes:
        labels = labels_for(change)
        if labels != ((), ()):
            groups.setdefault(labels, []).append(change.provider_id)
    results: dict[str, FlagResult] = {}
    for (add, remove), ids in groups.items():
        for start in range(0, len(ids), BATCH_MODIFY_LIMIT):
            chunk = list(dict.fromkeys(ids[start : start + BATCH_MODIFY_LIMIT]))
            results |= _modify_together(messages, chunk, add, remove, execute)
    return [
        results.get(change.provider_id, FlagResult(change.provider_id, written=True))
        for change in changes
    ]


def _modify_together(
    messages: Any, ids: list[str], add: tuple[str, ...], remove: tuple[str, ...], execute: Execute
) -> dict[str, FlagResult]:
    body = {"ids": ids, "addLabelIds": list(add), "removeLabelIds": list(remove)}
    try:
        execute(messages.batchModify(userId="me", body=body), "messages.batchModify")
    except InvalidGrant:
        raise
    except (ProviderThrottled, ProviderUnavailable) as exc:
        return {i: FlagResult(i, written=False, reason=exc.user_message) for i in ids}
    except ProviderError:
        return {i: _modify_alone(messages, i, add, remove, execute) for i in ids}
    return {i: FlagResult(i, written=True) for i in ids}


def _modify_alone(
    messages: Any, message_id: str, add: tuple[str, ...], remove: tuple[str, ...], execute: Execute
) -> FlagResult:
    body = {"addLabelIds": list(add), "removeLabelIds": list(remove)}
    try:
        execute(messages.modify(userId="me", id=message_id, body=body), "messages.modify")
    except InvalidGrant:
        raise
    except (ProviderThrottled, ProviderUnavailable) as exc:
        return FlagResult(message_id, written=False, reason=exc.user_message)
    except ProviderError as exc:
        # 404: the message is gone; any other refusal will not change on a retry either.
        return FlagResult(message_id, written=False, permanent=True, reason=exc.user_message)
    return FlagResult(message_id, written=True)
