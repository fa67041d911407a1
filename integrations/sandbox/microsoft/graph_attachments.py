"""Graph message attachments: list, get, ``$value``, and adding/removing them on drafts."""

from __future__ import annotations

from collections.abc import Callable

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import compose, ids, mailstore
from integrations.sandbox.microsoft.graph_common import Ctx, GraphError, graph_route
from integrations.sandbox.microsoft.graph_messages import ITEM, MESSAGES, message_or_404
from integrations.sandbox.microsoft.graph_odata import parse_select
from integrations.sandbox.microsoft.graph_render import attachment_json, cache_of
from integrations.sandbox.microsoft.mime import ParsedAttachment
from integrations.sandbox.microsoft.records import StoredMessage

ATTACHMENTS = MESSAGES + ITEM + r"/(?i:attachments)"
ATTACHMENT = ATTACHMENTS + r"/(?P<attachment>[^/]+)"
_PROPERTIES = (
    "id",
    "lastModifiedDateTime",
    "name",
    "contentType",
    "size",
    "isInline",
    "contentId",
    "contentLocation",
    "contentBytes",
)
_KNOWN = {p.lower(): p for p in _PROPERTIES}


def _attachments(ctx: Ctx, message: StoredMessage) -> tuple[ParsedAttachment, ...]:
    return cache_of(message, ctx.target.oid).parsed.attachments


def _attachment_or_404(ctx: Ctx, message: StoredMessage) -> ParsedAttachment:
    wanted = ctx.request.params["attachment"]
    for attachment in _attachments(ctx, message):
        if ids.attachment_id(message.immutable_id, attachment.index) == wanted:
            return attachment
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


@graph_route("GET", ATTACHMENTS, name="graph.messages.attachments.list", access="mail.read")
def list_attachments(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    select = parse_select(ctx.arg("$select"), _KNOWN, "microsoft.graph.attachment")
    item_id = message.immutable_id if ctx.immutable else message.rest_id
    return ctx.ok(
        {
            "@odata.context": ctx.context(f"messages('{item_id}')/attachments"),
            "value": [attachment_json(message, a, select) for a in _attachments(ctx, message)],
        }
    )


@graph_route("GET", ATTACHMENT, name="graph.messages.attachments.get", access="mail.read")
def get_attachment(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    attachment = _attachment_or_404(ctx, message)
    select = parse_select(ctx.arg("$select"), _KNOWN, "microsoft.graph.attachment")
    item_id = message.immutable_id if ctx.immutable else message.rest_id
    return ctx.ok(
        {
            "@odata.context": ctx.context(f"messages('{item_id}')/attachments/$entity"),
            **attachment_json(message, attachment, select),
        }
    )


@graph_route(
    "GET", ATTACHMENT + r"/\$value", name="graph.messages.attachments.value", access="mail.read"
)
def get_attachment_value(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    attachment = _attachment_or_404(ctx, message)
    response = ctx.empty(200)
    response.body = attachment.content
    content_type = "text/plain" if attachment.is_item else attachment.content_type
    response.headers.append(("Content-Type", content_type))
    return response


def _rewrite_draft(ctx: Ctx, message: StoredMessage, edit: Callable[[compose.Draft], None]) -> None:
    if not message.is_draft:
        raise GraphError(
            400, "ErrorInvalidOperation", "Attachments can only be changed on draft messages."
        )
    parsed = cache_of(message, ctx.target.oid).parsed
    draft = compose.draft_from_parsed(parsed, (ctx.target.name, ctx.target.upn))
    edit(draft)
    raw = compose.build_mime(draft, message.created_at, include_bcc=True)
    mailstore.update_message(ctx.state, ctx.mailbox, message, {"raw": raw})


@graph_route("POST", ATTACHMENTS, name="graph.messages.attachments.add", access="mail.write")
def add_attachment(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    new = compose.file_attachment_from_json(ctx.json_body())
    _rewrite_draft(ctx, message, lambda draft: draft.attachments.append(new))
    added = next(a for a in reversed(_attachments(ctx, message)) if a.name == new[0])
    return ctx.ok(
        {
            "@odata.context": ctx.context("messages/attachments/$entity"),
            **attachment_json(message, added),
        },
        status=201,
    )


@graph_route("DELETE", ATTACHMENT, name="graph.messages.attachments.delete", access="mail.write")
def delete_attachment(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    target = _attachment_or_404(ctx, message)

    def drop(draft: compose.Draft) -> None:
        del draft.attachments[
            next(
                i
                for i, a in enumerate(draft.attachments)
                if (a[0], a[2]) == (target.name, target.content)
            )
        ]

    _rewrite_draft(ctx, message, drop)
    return ctx.empty(204)
