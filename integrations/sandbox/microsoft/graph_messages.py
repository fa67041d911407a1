"""Graph messages: list, get, update, move, copy, delete, MIME ``$value``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import (  # noqa: F401 - graph_delta's routes must come first
    graph_delta,
    mailstore,
)
from integrations.sandbox.microsoft.graph_common import (
    FOLDER,
    Ctx,
    GraphError,
    graph_route,
    next_link,
    page_params,
)
from integrations.sandbox.microsoft.graph_odata import (
    check_filter_with_orderby,
    compile_filter,
    parse_filter,
    parse_orderby,
    parse_select,
)
from integrations.sandbox.microsoft.graph_render import (
    ALL_SELECTABLE,
    cache_of,
    message_json,
)
from integrations.sandbox.microsoft.graph_users import check_id, folder_or_404
from integrations.sandbox.microsoft.records import Folder, StoredMessage

MESSAGES = r"/(?i:messages)"
FOLDER_MESSAGES = FOLDER + r"/(?i:messages)"
ITEM = r"/(?P<message>[^/]+)"
_FLAG_STATUSES = ("notFlagged", "flagged", "complete")


def _address(pairs: tuple[tuple[str, str], ...]) -> str | None:
    return pairs[0][1].lower() if pairs else None


def filter_fields(mailbox_oid: str) -> dict[str, Callable[[StoredMessage], Any]]:
    def parsed(message: StoredMessage) -> Any:
        return cache_of(message, mailbox_oid).parsed

    return {
        "isread": lambda m: m.is_read,
        "isdraft": lambda m: m.is_draft,
        "receiveddatetime": lambda m: m.received_at,
        "createddatetime": lambda m: m.created_at,
        "lastmodifieddatetime": lambda m: m.modified_at,
        "sentdatetime": lambda m: parsed(m).date or m.received_at,
        "hasattachments": lambda m: parsed(m).has_attachments,
        "internetmessageid": lambda m: parsed(m).message_id,
        "subject": lambda m: parsed(m).subject,
        "importance": lambda m: parsed(m).importance,
        "from/emailaddress/address": lambda m: _address(parsed(m).from_),
        "sender/emailaddress/address": lambda m: _address(parsed(m).sender),
        "flag/flagstatus": lambda m: m.flag_status,
        "parentfolderid": lambda m: m.folder_id,
        "conversationid": lambda m: cache_of(m, mailbox_oid).static["conversationId"],
    }


_SORTABLE = {
    "receiveddatetime": "receivedDateTime",
    "sentdatetime": "sentDateTime",
    "createddatetime": "createdDateTime",
    "lastmodifieddatetime": "lastModifiedDateTime",
    "subject": "subject",
    "importance": "importance",
    "isread": "isRead",
}


def message_or_404(ctx: Ctx, folder: Folder | None = None) -> StoredMessage:
    key = ctx.request.params["message"]
    message = mailstore.find_message(ctx.mailbox, key)
    if message is None or (folder is not None and message.folder_id != folder.id):
        check_id(key)
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return message


def expands_attachments(ctx: Ctx) -> bool:
    """``$expand=attachments`` is the one navigation property a message expands here."""
    raw = ctx.arg("$expand")
    if raw is None:
        return False
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        if part.lower() != "attachments":
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named "
                f"'{part.split('(')[0]}' on type 'microsoft.graph.message'.",
            )
    return True


def render(ctx: Ctx, message: StoredMessage, select: list[str] | None = None) -> dict[str, Any]:
    return message_json(
        message,
        mailbox_oid=ctx.target.oid,
        immutable=ctx.immutable,
        body_type=ctx.body_type,
        select=select,
        expand_attachments=expands_attachments(ctx),
    )


_SEARCH_FIELDS = ("from", "to", "cc", "subject", "body", "participants")


def search_predicate(ctx: Ctx) -> Callable[[StoredMessage], bool] | None:
    """``$search="..."``: every term (free text or ``from:``/``subject:``... ) must match."""
    raw = ctx.arg("$search")
    if raw is None:
        return None
    if ctx.arg("$filter") is not None or ctx.arg("$orderby") is not None:
        raise GraphError(
            400,
            "ErrorInvalidUrlQuery",
            "The query parameter '$search' cannot be combined with '$filter' or '$orderby'.",
        )
    text = raw.strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise GraphError(
            400,
            "BadRequest",
            f"Syntax error: character '{text[:1]}' is not valid at position 0 in '{text}'.",
        )
    terms = [t.lower() for t in text[1:-1].split()]
    oid = ctx.target.oid

    def haystacks(message: StoredMessage) -> dict[str, str]:
        parsed = cache_of(message, oid).parsed

        def people(pairs: tuple[tuple[str, str], ...]) -> str:
            return " ".join(f"{n} {a}" for n, a in pairs).lower()

        body = (parsed.body_text or parsed.body_html or "").lower()
        return {
            "from": people(parsed.from_),
            "to": people(parsed.to),
            "cc": people(parsed.cc),
            "subject": parsed.subject.lower(),
            "body": body,
            "participants": people(parsed.from_ + parsed.to + parsed.cc),
        }

    def matches(message: StoredMessage) -> bool:
        fields = haystacks(message)
        for term in terms:
            name, colon, value = term.partition(":")
            if colon and name in _SEARCH_FIELDS:
                if value.strip('"') not in fields[name]:
                    return False
            elif not any(term in fields[f] for f in ("subject", "body", "participants")):
                return False
        return True

    return matches


def _list(ctx: Ctx, folder: Folder | None) -> Response:
    select = parse_select(ctx.arg("$select"), ALL_SELECTABLE, "microsoft.graph.message")
    top, skip = page_params(ctx)
    searching = search_predicate(ctx)
    filter_node = parse_filter(ctx.arg("$filter"))
    order = parse_orderby(ctx.arg("$orderby"), _SORTABLE)
    check_filter_with_orderby(filter_node, order)
    fields = filter_fields(ctx.target.oid)
    predicate = searching or compile_filter(filter_node, fields)
    candidates = [
        m for m in ctx.mailbox.messages.values() if folder is None or m.folder_id == folder.id
    ]
    matched = [m for m in candidates if predicate(m)]
    for path, descending in reversed(order or [("receiveddatetime", True)]):
        getter = fields[path]
        matched.sort(key=lambda m, g=getter: (g(m) is None, g(m)), reverse=descending)  # type: ignore[misc]
    page = matched[skip : skip + top]
    tail = "messages" if folder is None else f"mailFolders('{folder.id}')/messages"
    if select:
        tail += "(" + ",".join(select) + ")"
    body: dict[str, Any] = {"@odata.context": ctx.context(tail)}
    if (ctx.arg("$count") or "").lower() == "true":
        body["@odata.count"] = len(matched)
    if skip + top < len(matched):
        body["@odata.nextLink"] = next_link(ctx, skip + top)
    body["value"] = [render(ctx, m, select) for m in page]
    return ctx.ok(body)


@graph_route("GET", MESSAGES, name="graph.messages.list", access="mail.read")
def list_messages(ctx: Ctx) -> Response:
    return _list(ctx, None)


@graph_route("GET", FOLDER_MESSAGES, name="graph.mailFolders.messages.list", access="mail.read")
def list_folder_messages(ctx: Ctx) -> Response:
    return _list(ctx, folder_or_404(ctx, ctx.request.params["folder"]))


def _get(ctx: Ctx, folder: Folder | None) -> Response:
    select = parse_select(ctx.arg("$select"), ALL_SELECTABLE, "microsoft.graph.message")
    message = message_or_404(ctx, folder)
    tail = "messages" + ("(" + ",".join(select) + ")" if select else "") + "/$entity"
    return ctx.ok({"@odata.context": ctx.context(tail), **render(ctx, message, select)})


@graph_route("GET", MESSAGES + ITEM, name="graph.messages.get", access="mail.read")
def get_message(ctx: Ctx) -> Response:
    return _get(ctx, None)


@graph_route(
    "GET", FOLDER_MESSAGES + ITEM, name="graph.mailFolders.messages.get", access="mail.read"
)
def get_folder_message(ctx: Ctx) -> Response:
    return _get(ctx, folder_or_404(ctx, ctx.request.params["folder"]))


@graph_route("GET", MESSAGES + ITEM + r"/\$value", name="graph.messages.value", access="mail.read")
def get_message_mime(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    response = ctx.empty(200)
    response.body = message.raw
    response.headers.append(("Content-Type", "text/plain"))
    return response


_DRAFT_ONLY = (
    "subject",
    "body",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "from",
    "sender",
    "internetMessageHeaders",
    "attachments",
)


def message_changes(ctx: Ctx, message: StoredMessage, data: dict[str, Any]) -> dict[str, Any]:
    """Stored-field changes a PATCH body asks for (draft content is handled by graph_send)."""
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "isRead":
            if not isinstance(value, bool):
                raise GraphError(400, "ErrorInvalidRequest", "Invalid value for isRead.")
            changes["is_read"] = value
        elif key == "flag":
            status = (value or {}).get("flagStatus") if isinstance(value, dict) else None
            if status not in _FLAG_STATUSES:
                raise GraphError(400, "ErrorInvalidRequest", "Invalid value for flag.")
            changes["flag_status"] = status
        elif key == "categories":
            if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
                raise GraphError(400, "ErrorInvalidRequest", "Invalid value for categories.")
            changes["categories"] = list(value)
        elif key in (
            "inferenceClassification",
            "importance",
            "isDeliveryReceiptRequested",
            "isReadReceiptRequested",
        ):
            continue  # accepted, not modelled
        elif key in _DRAFT_ONLY and message.is_draft:
            continue
        elif key in _DRAFT_ONLY:
            raise GraphError(
                400,
                "ErrorInvalidPropertyUpdateSentMessage",
                "Update operation is not supported for this property on a sent message.",
            )
        else:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{key}' on type 'microsoft.graph.message'.",
            )
    return changes


@graph_route("PATCH", MESSAGES + ITEM, name="graph.messages.update", access="mail.write")
def update_message(ctx: Ctx) -> Response:
    from integrations.sandbox.microsoft.graph_send import draft_content_changes

    message = message_or_404(ctx)
    data = ctx.json_body()
    changes = message_changes(ctx, message, data)
    if message.is_draft:
        changes.update(draft_content_changes(ctx, message, data))
    if changes:
        mailstore.update_message(ctx.state, ctx.mailbox, message, changes)
    return ctx.ok({"@odata.context": ctx.context("messages/$entity"), **render(ctx, message)})


@graph_route("DELETE", MESSAGES + ITEM, name="graph.messages.delete", access="mail.write")
def delete_message(ctx: Ctx) -> Response:
    mailstore.delete_message(ctx.state, ctx.mailbox, message_or_404(ctx))
    return ctx.empty(204)


def _destination(ctx: Ctx) -> Folder:
    destination = ctx.json_body().get("destinationId")
    if not isinstance(destination, str) or not destination:
        raise GraphError(400, "ErrorInvalidRequest", "The destinationId parameter is required.")
    folder = ctx.state.folder_by_key(ctx.mailbox, destination)
    if folder is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return folder


@graph_route(
    "POST", MESSAGES + ITEM + r"/(?i:move)", name="graph.messages.move", access="mail.write"
)
def move_message(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    destination = _destination(ctx)
    mailstore.move_message(ctx.state, ctx.mailbox, message, destination)
    return ctx.ok(
        {"@odata.context": ctx.context("messages/$entity"), **render(ctx, message)}, status=201
    )


@graph_route(
    "POST", MESSAGES + ITEM + r"/(?i:copy)", name="graph.messages.copy", access="mail.write"
)
def copy_message(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    destination = _destination(ctx)
    copy = mailstore.add_message(
        ctx.state,
        ctx.mailbox,
        raw=message.raw,
        folder=destination,
        received_at=message.received_at,
        is_read=message.is_read,
        is_draft=message.is_draft,
        flag_status=message.flag_status,
        categories=message.categories,
    )
    return ctx.ok(
        {"@odata.context": ctx.context("messages/$entity"), **render(ctx, copy)}, status=201
    )
