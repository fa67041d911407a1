"""Writes to a calendar, shared by Graph handlers and the control API, so every change reaches
the change log (calendarView delta) and subscriptions.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.sandbox.microsoft import ids, mailstore
from integrations.sandbox.microsoft.events_model import expand, original_key
from integrations.sandbox.microsoft.records import Mailbox, StoredEvent
from integrations.sandbox.microsoft.state import MicrosoftState

# occurrence id -> (series id, original start key); filled as occurrences are shown.
_OCCURRENCES: dict[str, tuple[str, str]] = {}


def ical_uid() -> str:
    # Exchange's iCalUId: the Outlook global object id in hex.
    return ("040000008200E00074C5B7101A82E00800000000" + ids.opaque_token(16).encode().hex())[
        :112
    ].upper()


def create_event(
    state: MicrosoftState,
    mailbox: Mailbox,
    data: dict[str, Any],
    *,
    uid: str | None = None,
    cancelled: list[str] | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> StoredEvent:
    now = state.now()
    event = StoredEvent(
        id=ids.event_id(mailbox.oid),
        ical_uid=uid or ical_uid(),
        data=data,
        created_at=now,
        modified_at=now,
        change_key=ids.change_key(),
        seq=0,
        cancelled_occurrences=list(cancelled or []),
        occurrence_overrides=dict(overrides or {}),
    )
    mailbox.events[event.id] = event
    mailstore.log_event_change(state, mailbox, event, "created")
    return event


def _snapshot(mailbox: Mailbox, event: StoredEvent) -> None:
    """Keep the version before a change: calendarView delta removes occurrences it no longer has."""
    mailbox.event_tombstones[event.id] = copy.deepcopy(event)


def update_event(
    state: MicrosoftState, mailbox: Mailbox, event: StoredEvent, changes: dict[str, Any]
) -> None:
    _snapshot(mailbox, event)
    event.data.update(changes)
    if "recurrence" in changes and not changes["recurrence"]:
        event.data.pop("recurrence", None)
        event.cancelled_occurrences.clear()
        event.occurrence_overrides.clear()
    mailstore.log_event_change(state, mailbox, event, "updated")


def delete_event(state: MicrosoftState, mailbox: Mailbox, event: StoredEvent) -> None:
    _snapshot(mailbox, event)
    del mailbox.events[event.id]
    mailstore.log_event_change(state, mailbox, event, "removed")


def cancel_occurrence(
    state: MicrosoftState, mailbox: Mailbox, event: StoredEvent, key: str
) -> None:
    _snapshot(mailbox, event)
    if key not in event.cancelled_occurrences:
        event.cancelled_occurrences.append(key)
    mailstore.log_event_change(state, mailbox, event, "updated")


def override_occurrence(
    state: MicrosoftState, mailbox: Mailbox, event: StoredEvent, key: str, changes: dict[str, Any]
) -> None:
    _snapshot(mailbox, event)
    event.occurrence_overrides[key] = {**event.occurrence_overrides.get(key, {}), **changes}
    mailstore.log_event_change(state, mailbox, event, "updated")


def remember_occurrence(occurrence_id: str, series_id: str, key: str) -> None:
    _OCCURRENCES[occurrence_id] = (series_id, key)


def find_occurrence(
    mailbox: Mailbox, occurrence_id: str, now: datetime
) -> tuple[StoredEvent, str] | None:
    """(series, original start key) of an occurrence id, shown before or found by expanding."""
    known = _OCCURRENCES.get(occurrence_id)
    if known and known[0] in mailbox.events:
        return mailbox.events[known[0]], known[1]
    low, high = now - timedelta(days=3 * 365), now + timedelta(days=3 * 365)
    for event in mailbox.events.values():
        if not event.data.get("recurrence"):
            continue
        for instance in expand(
            event.data, event.cancelled_occurrences, event.occurrence_overrides, low, high
        ):
            key = original_key(instance.original_start)
            if ids.occurrence_id(event.id, key) == occurrence_id:
                remember_occurrence(occurrence_id, event.id, key)
                return event, key
    return None


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
