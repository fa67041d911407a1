"""Gmail push: ``users.watch`` on a Cloud Pub/Sub topic, and ``users.stop``.

After a change to a watched mailbox Gmail publishes ``{emailAddress, historyId}`` to the topic,
whose push subscription POSTs it to Liaison's webhook (see ``push_tokens`` for how that request
is authenticated). A watch lasts 7 days and Google asks for it to be renewed daily; calling
``watch`` again replaces it. There is no label filter on purpose: archiving and deleting take
messages out of INBOX, and those changes need a sync as much as new mail does.

Prerequisites outside Liaison: the topic exists and ``gmail-api-push@system.gserviceaccount.com``
may publish to it (else ``watch`` answers 404 / 403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integrations.providers.base import ProviderError
from integrations.providers.google import gmail_calls
from integrations.providers.google.services import gmail_service
from integrations.providers.mail import DriverContext


@dataclass(frozen=True)
class GmailWatch:
    history_id: str  # the mailbox's historyId when the watch started
    expires_at: datetime  # aware UTC


def gmail_watch_start(
    ctx: DriverContext, *, topic_name: str, service: Any | None = None
) -> GmailWatch:
    """Start (or replace) the mailbox's watch on ``topic_name`` (``projects/P/topics/T``).

    Raises ProviderError (``NotFound``: no such topic; ``Forbidden``: Gmail may not publish to
    it), ProviderThrottled / ProviderUnavailable once retries are spent, InvalidGrant.
    """
    users = (service or gmail_service(ctx)).users()
    answer = gmail_calls.execute(
        users.watch(userId="me", body={"topicName": topic_name}), "users.watch"
    )
    try:
        expires_at = datetime.fromtimestamp(int(answer["expiration"]) / 1000, tz=UTC)
        return GmailWatch(history_id=str(answer["historyId"]), expires_at=expires_at)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProviderError("Gmail sent a malformed answer to users.watch.") from exc


def gmail_watch_stop(ctx: DriverContext, *, service: Any | None = None) -> None:
    """Stop every push notification of this mailbox to this app (Gmail keeps one per user)."""
    users = (service or gmail_service(ctx)).users()
    gmail_calls.execute(users.stop(userId="me"), "users.stop")
