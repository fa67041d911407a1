"""Read, star and archive written to Microsoft 365 through Graph ``$batch``.

Read and star are one ``PATCH /messages/{id}`` (``isRead``, ``flag.flagStatus``); archive is
``POST /messages/{id}/move`` to the well-known ``archive`` folder, and back to ``inbox``. Every
request asks for immutable ids: Graph ids change on move unless Prefer: IdType="ImmutableId",
and the copy is stored under that id. The patches go first, then the moves, so one message
never has two requests in flight in the same batch (Graph runs batch requests in parallel).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from integrations.providers.base import ProviderUnavailable
from integrations.providers.mail import FlagChange, FlagResult, ProviderThrottled
from integrations.providers.microsoft.graph import (
    BATCH_LIMIT,
    IMMUTABLE_IDS,
    GraphClient,
    GraphRequest,
    GraphResult,
    path_segment,
)

CheckAccess = Callable[[GraphResult], None]


def patch_body(change: FlagChange) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if change.is_read is not None:
        body["isRead"] = change.is_read
    if change.is_starred is not None:
        body["flag"] = {"flagStatus": "flagged" if change.is_starred else "notFlagged"}
    return body


def write_flags(
    client: GraphClient, mailbox: str, changes: Sequence[FlagChange], check_access: CheckAccess
) -> list[FlagResult]:
    """One FlagResult per change, in order. Losing the mailbox (MailboxAccessDenied through
    ``check_access``) or the grant (InvalidGrant) goes up."""
    requests: list[tuple[int, GraphRequest]] = []
    moves: list[tuple[int, GraphRequest]] = []
    for n, change in enumerate(changes):
        item = f"{mailbox}/messages/{path_segment(change.provider_id)}"
        if body := patch_body(change):
            requests.append((n, GraphRequest(f"p{n}", item, "PATCH", IMMUTABLE_IDS, body)))
        if change.archived is not None:
            target = {"destinationId": "archive" if change.archived else "inbox"}
            moves.append((n, GraphRequest(f"m{n}", f"{item}/move", "POST", IMMUTABLE_IDS, target)))
    failures: dict[int, FlagResult] = {}
    for round_ in (requests, moves):
        pending = [(n, request) for n, request in round_ if n not in failures]
        for start in range(0, len(pending), BATCH_LIMIT):
            chunk = pending[start : start + BATCH_LIMIT]
            failures |= _send(client, chunk, changes, check_access)
    return [failures.get(n, FlagResult(c.provider_id, written=True)) for n, c in enumerate(changes)]


def _send(
    client: GraphClient,
    chunk: list[tuple[int, GraphRequest]],
    changes: Sequence[FlagChange],
    check_access: CheckAccess,
) -> dict[int, FlagResult]:
    """The failures of one ``$batch`` (at most 20 requests), by change index."""
    try:
        answers = client.batch([request for _, request in chunk])
    except (ProviderThrottled, ProviderUnavailable) as exc:
        return {
            n: FlagResult(changes[n].provider_id, written=False, reason=exc.user_message)
            for n, _ in chunk
        }
    failures: dict[int, FlagResult] = {}
    for n, request in chunk:
        result = answers[request.id]
        if result.ok:
            continue
        check_access(result)
        reason = f"{result.status} {result.error_code or 'no error code'}"
        # Still throttled or failing after the client's retries: write it again later. Any
        # other refusal (404: the message is gone) will not change on a retry.
        permanent = not result.transient
        failures[n] = FlagResult(
            changes[n].provider_id, written=False, permanent=permanent, reason=reason
        )
    return failures
