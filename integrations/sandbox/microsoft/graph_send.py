"""Graph mail sending: sendMail, drafts, reply / replyAll / forward and their create* drafts."""

from __future__ import annotations

from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import compose, mailstore
from integrations.sandbox.microsoft.compose import Draft
from integrations.sandbox.microsoft.graph_common import Ctx, GraphError, graph_route
from integrations.sandbox.microsoft.graph_messages import ITEM, MESSAGES, message_or_404, render
from integrations.sandbox.microsoft.graph_render import cache_of
from integrations.sandbox.microsoft.records import StoredMessage


def _send(ctx: Ctx, draft: Draft, *, save: bool, existing: StoredMessage | None = None) -> None:
    if not (draft.to or draft.cc or draft.bcc):
        raise GraphError(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient is not valid., Recipient '' is not resolved. "
            "All recipients must be resolved before a message can be submitted.",
        )
    now = ctx.now
    state, mailbox = ctx.state, ctx.mailbox
    sent_raw = compose.build_mime(draft, now, include_bcc=True)
    sent_items = state.well_known_folder(mailbox, "sentitems")
    if existing is not None:
        # Sending a draft moves that item to Sent Items (a new default id, as any move).
        mailstore.update_message(
            state,
            mailbox,
            existing,
            {"raw": sent_raw, "is_draft": False, "is_read": True, "received_at": now},
        )
        if save:
            mailstore.move_message(state, mailbox, existing, sent_items)
        else:
            mailstore.delete_message(state, mailbox, existing)
    elif save:
        mailstore.add_message(
            state, mailbox, raw=sent_raw, folder=sent_items, received_at=now, is_read=True
        )
    compose.deliver(state, draft, now)


@graph_route("POST", r"/(?i:sendMail)", name="graph.sendMail", access="mail.send")
def send_mail(ctx: Ctx) -> Response:
    data = ctx.json_body()
    message = data.get("message")
    if not isinstance(message, dict):
        raise GraphError(
            400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty."
        )
    draft = Draft(
        sender=compose.sender_for(ctx.state, ctx.caller, ctx.target, message),
        message_id=compose.new_message_id(ctx.target),
    )
    compose.apply_json(draft, message)
    save = data.get("saveToSentItems", True)
    _send(ctx, draft, save=save is not False and str(save).lower() != "false")
    return ctx.empty(202)


def _store_draft(ctx: Ctx, draft: Draft) -> StoredMessage:
    drafts = ctx.state.well_known_folder(ctx.mailbox, "drafts")
    raw = compose.build_mime(draft, ctx.now, include_bcc=True)
    return mailstore.add_message(
        ctx.state,
        ctx.mailbox,
        raw=raw,
        folder=drafts,
        received_at=ctx.now,
        is_read=True,
        is_draft=True,
    )


@graph_route("POST", MESSAGES, name="graph.messages.create", access="mail.write")
def create_draft(ctx: Ctx) -> Response:
    data = ctx.json_body()
    draft = Draft(
        sender=compose.sender_for(ctx.state, ctx.caller, ctx.target, data),
        message_id=compose.new_message_id(ctx.target),
    )
    compose.apply_json(draft, data)
    stored = _store_draft(ctx, draft)
    return ctx.ok(
        {"@odata.context": ctx.context("messages/$entity"), **render(ctx, stored)}, status=201
    )


def draft_content_changes(ctx: Ctx, message: StoredMessage, data: dict[str, Any]) -> dict[str, Any]:
    """PATCH of a draft's content: rebuild its MIME with the new subject, body, recipients."""
    content_keys = {
        "subject",
        "body",
        "toRecipients",
        "ccRecipients",
        "bccRecipients",
        "replyTo",
        "importance",
        "from",
    }
    if not content_keys & set(data):
        return {}
    parsed = cache_of(message, ctx.target.oid).parsed
    draft = compose.draft_from_parsed(parsed, (ctx.target.name, ctx.target.upn))
    if "from" in data:
        draft.sender = compose.sender_for(ctx.state, ctx.caller, ctx.target, data)
    compose.apply_json(draft, {k: v for k, v in data.items() if k in content_keys})
    return {"raw": compose.build_mime(draft, message.created_at, include_bcc=True)}


def _response_draft(ctx: Ctx, kind: str) -> Draft:
    original = message_or_404(ctx)
    data = ctx.json_body()
    parsed = cache_of(original, ctx.target.oid).parsed
    draft = compose.response_draft(
        kind=kind,
        original=original,
        parsed=parsed,
        owner=ctx.target,
        comment=str(data.get("comment") or ""),
    )
    if kind == "forward" and "toRecipients" in data:
        draft.to = compose.recipients_from_json(data["toRecipients"], "toRecipients")
    override = data.get("message")
    if isinstance(override, dict):
        compose.apply_json(draft, override)
    return draft


_RESPONSES = (("reply", "reply"), ("replyAll", "replyAll"), ("forward", "forward"))

for _action, _kind in _RESPONSES:

    def _make_send(kind: str) -> Any:
        def handler(ctx: Ctx) -> Response:
            _send(ctx, _response_draft(ctx, kind), save=True)
            return ctx.empty(202)

        return handler

    def _make_create(kind: str) -> Any:
        def handler(ctx: Ctx) -> Response:
            stored = _store_draft(ctx, _response_draft(ctx, kind))
            return ctx.ok(
                {"@odata.context": ctx.context("messages/$entity"), **render(ctx, stored)},
                status=201,
            )

        return handler

    graph_route(
        "POST",
        MESSAGES + ITEM + rf"/(?i:{_action})",
        name=f"graph.messages.{_action}",
        access="mail.send",
    )(_make_send(_kind))
    _create = "create" + _action[0].upper() + _action[1:]
    graph_route(
        "POST",
        MESSAGES + ITEM + rf"/(?i:{_create})",
        name=f"graph.messages.{_create}",
        access="mail.write",
    )(_make_create(_kind))


@graph_route(
    "POST", MESSAGES + ITEM + r"/(?i:send)", name="graph.messages.send", access="mail.send"
)
def send_draft(ctx: Ctx) -> Response:
    message = message_or_404(ctx)
    if not message.is_draft:
        raise GraphError(400, "ErrorInvalidOperation", "Only draft messages can be sent.")
    parsed = cache_of(message, ctx.target.oid).parsed
    draft = compose.draft_from_parsed(parsed, (ctx.target.name, ctx.target.upn))
    _send(ctx, draft, save=True, existing=message)
    return ctx.empty(202)
