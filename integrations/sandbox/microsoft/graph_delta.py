"""Graph delta query for a mail folder's messages (and the paging machinery calendarView delta
shares): opaque ``$skiptoken`` / ``$deltatoken`` state, ``@removed`` entries, expiry as 410.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft.graph_common import (
    FOLDER,
    GRAPH_ROOT,
    Ctx,
    GraphError,
    graph_route,
)
from integrations.sandbox.microsoft.graph_odata import parse_filter, parse_select
from integrations.sandbox.microsoft.graph_render import ALL_SELECTABLE, message_json
from integrations.sandbox.microsoft.graph_users import folder_or_404
from integrations.sandbox.microsoft.records import DeltaState, Mailbox

DEFAULT_PAGE_SIZE = 10
_PRUNE_AT = 20000
_CHANGE_TYPES = ("created", "updated", "deleted")


def sync_state_not_found(mailbox: Mailbox, token: DeltaState | None) -> GraphError:
    generation = token.since_seq if token else 0
    return GraphError(
        410,
        "SyncStateNotFound",
        f"The sync state generation is not found; generation={generation};"
        f"[highest={mailbox.seq}][{mailbox.seq}].",
    )


def load_token(ctx: Ctx, kind: str, container: str) -> DeltaState | None:
    """The state a ``$deltatoken`` / ``$skiptoken`` names, or None on a first request."""
    value = ctx.arg("$deltatoken") or ctx.arg("$skiptoken")
    if value is None:
        return None
    mailbox = ctx.mailbox
    token = ctx.state.delta_states.get(value)
    if token is None or token.epoch != mailbox.delta_epoch:
        raise sync_state_not_found(mailbox, token)
    if token.oid != mailbox.oid or token.kind != kind or token.container != container:
        raise GraphError(
            400,
            "ErrorInvalidSyncStateData",
            "The sync state data is corrupted or otherwise invalid.",
        )
    return token


def save_token(ctx: Ctx, token: DeltaState) -> str:
    states = ctx.state.delta_states
    if len(states) >= _PRUNE_AT:
        cutoff = ctx.now - timedelta(days=30)
        for key in [k for k, s in states.items() if s.issued_at < cutoff]:
            del states[key]
    token.token = ids.opaque_token(64)
    token.issued_at = ctx.now
    states[token.token] = token
    return token.token


def copy_token(token: DeltaState, **changes: Any) -> DeltaState:
    fields = {
        **token.__dict__,
        "remaining": list(token.remaining),
        "removed": list(token.removed),
        **changes,
    }
    return DeltaState(**fields)


def emit_page(
    ctx: Ctx,
    token: DeltaState,
    *,
    render: Callable[[str], dict[str, Any] | None],
    removed: Callable[[str], dict[str, Any]],
    context: str,
) -> Response:
    """One page of a round: removals first, then changed items; nextLink or deltaLink."""
    page_size = ctx.max_page_size(token.page_size)
    value: list[dict[str, Any]] = []
    while token.removed and len(value) < page_size:
        value.append(removed(token.removed.pop(0)))
    while token.remaining and len(value) < page_size:
        item = render(token.remaining.pop(0))
        if item is not None:
            value.append(item)
    path = ctx.request.path[len(GRAPH_ROOT) :]
    body: dict[str, Any] = {"@odata.context": context}
    if token.removed or token.remaining:
        follow = copy_token(token)
        body["@odata.nextLink"] = ctx.url(path, {"$skiptoken": save_token(ctx, follow)})
    else:
        done = copy_token(token, since_seq=token.next_seq, remaining=[], removed=[])
        body["@odata.deltaLink"] = ctx.url(path, {"$deltatoken": save_token(ctx, done)})
    body["value"] = value
    return ctx.ok(body)


def changes_since(
    mailbox: Mailbox, kind: str, container: str | None, since_seq: int
) -> dict[str, tuple[set[str], str]]:
    """item id -> (kinds of change after ``since_seq``, the default id last logged)."""
    found: dict[str, tuple[set[str], str]] = {}
    log = mailbox.log
    low, high = 0, len(log)
    while low < high:  # the log is ordered by seq: find the first entry after since_seq
        middle = (low + high) // 2
        if log[middle].seq <= since_seq:
            low = middle + 1
        else:
            high = middle
    for entry in log[low:]:
        if entry.kind != kind or (container is not None and entry.container != container):
            continue
        changes, _ = found.get(entry.item_id, (set(), ""))
        changes.add(entry.change)
        found[entry.item_id] = (changes, entry.rest_id)
    return found


def _wanted(change_type: str | None, changes: set[str], present: bool) -> bool:
    if change_type is None:
        return True
    if change_type == "deleted":
        return not present
    if change_type == "created":
        return present and "created" in changes
    return present and "created" not in changes


@graph_route(
    "GET",
    FOLDER + r"/(?i:messages)/(?i:delta)",
    name="graph.mailFolders.messages.delta",
    access="mail.read",
)
def messages_delta(ctx: Ctx) -> Response:
    folder = folder_or_404(ctx, ctx.request.params["folder"])
    mailbox = ctx.mailbox
    stored = load_token(ctx, "messages", folder.id)
    if stored is not None and ctx.arg("$deltatoken") is None:
        token = copy_token(stored)  # a $skiptoken: the rest of the round, repeatable
    else:
        token = _start_round(ctx, mailbox, folder.id, stored)
    immutable = ctx.immutable
    body_type = ctx.body_type

    def render(item_id: str) -> dict[str, Any] | None:
        message = mailbox.messages.get(item_id)
        if message is None or message.folder_id != folder.id:
            return None  # moved or deleted while paging: the next round reports it
        out = message_json(
            message,
            mailbox_oid=mailbox.oid,
            immutable=immutable,
            body_type=body_type,
            select=token.select,
        )
        return {"@odata.type": "#microsoft.graph.message", **out}

    def removed(entry: str) -> dict[str, Any]:
        immutable_id, _, rest_id = entry.partition("|")
        # A removal is reported for moves out of the folder too, with reason "deleted".
        return {
            "@odata.type": "#microsoft.graph.message",
            "id": immutable_id if immutable else rest_id,
            "@removed": {"reason": "deleted"},
        }

    return emit_page(
        ctx,
        token,
        render=render,
        removed=removed,
        context=f"{ctx.request.base_url}{GRAPH_ROOT}/$metadata#Collection(message)",
    )


def _start_round(
    ctx: Ctx, mailbox: Mailbox, folder_id: str, previous: DeltaState | None
) -> DeltaState:
    if previous is None:
        select = parse_select(ctx.arg("$select"), ALL_SELECTABLE, "microsoft.graph.message")
        change_type = ctx.arg("changeType")
        if change_type is not None and change_type not in _CHANGE_TYPES:
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                f"The value '{change_type}' of the parameter 'changeType' is invalid.",
            )
        received_after = _received_after(ctx)
        token = DeltaState(
            token="",
            oid=mailbox.oid,
            kind="messages",
            container=folder_id,
            since_seq=0,
            epoch=mailbox.delta_epoch,
            issued_at=ctx.now,
            select=select,
            page_size=DEFAULT_PAGE_SIZE,
            change_type=change_type,
            received_after=received_after,
        )
        items = [
            m
            for m in mailbox.messages.values()
            if m.folder_id == folder_id
            and (received_after is None or m.received_at.isoformat() >= received_after)
        ]
        items.sort(key=lambda m: m.received_at, reverse=True)
        token.remaining = [m.immutable_id for m in items] if change_type != "deleted" else []
        token.next_seq = mailbox.seq
        return token
    token = copy_token(previous, remaining=[], removed=[])
    for item_id, (changes, rest_id) in changes_since(
        mailbox, "message", folder_id, previous.since_seq
    ).items():
        message = mailbox.messages.get(item_id)
        present = message is not None and message.folder_id == folder_id
        if not _wanted(token.change_type, changes, present):
            continue
        if present:
            assert message is not None
            if token.received_after and message.received_at.isoformat() < token.received_after:
                continue
            token.remaining.append(item_id)
        else:
            token.removed.append(f"{item_id}|{rest_id}")
    token.next_seq = mailbox.seq
    return token


def _received_after(ctx: Ctx) -> str | None:
    """Delta takes only ``receivedDateTime ge|gt {instant}`` as a filter."""
    raw = ctx.arg("$filter")
    if raw is None:
        return None
    words = raw.split()
    if (
        len(words) == 3
        and words[0].lower() == "receiveddatetime"
        and words[1].lower() in ("ge", "gt")
    ):
        node = parse_filter(raw)
        if isinstance(node.value, datetime):
            return node.value.astimezone(UTC).isoformat()
    raise GraphError(
        400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."
    )
