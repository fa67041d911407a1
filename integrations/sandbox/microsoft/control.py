"""Control routes for the Microsoft sandbox (``/_sandbox/microsoft/...``): apps, directory
tenants, users and shared mailboxes, mailbox contents, events, delta expiry, grant revocation.

They play the outside world (mail arriving, a message read on a phone, an admin revoking
sessions); every change goes through the same stores as Graph, so delta and subscriptions see
it. Answers are JSON; errors are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.sandbox.control_json import control_error, json_object, raw_message, text_field
from integrations.sandbox.http import Request, Response, router
from integrations.sandbox.microsoft import mailstore
from integrations.sandbox.microsoft.control_events import fill_events
from integrations.sandbox.microsoft.control_events import user_and_mailbox as _user
from integrations.sandbox.microsoft.records import Mailbox, User
from integrations.sandbox.microsoft.scopes import UnknownScope, split_scopes
from integrations.sandbox.microsoft.state import DirectoryError, MicrosoftState, state_of

PREFIX = r"/_sandbox/microsoft"
USER = PREFIX + r"/users/(?P<upn>[^/]+)"
MAX_FILL = 50_000


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.oid,
        "userPrincipalName": user.upn,
        "displayName": user.name,
        "tenant_id": user.tenant_id,
        "shared": user.shared,
        "delegates": user.delegates,
    }


def _directory(call: Any) -> Any:
    try:
        return call()
    except DirectoryError as exc:
        raise control_error(400, str(exc)) from exc


# -- apps, tenants, users --------------------------------------------------------------------


@router.route("POST", PREFIX + "/apps", name="sandbox.microsoft.apps.create", provider="control")
def apps_create(request: Request) -> Response:
    data = json_object(request)
    uris = data.get("redirect_uris") or []
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise control_error(400, "redirect_uris must be a list of URLs")
    with request.sandbox.lock:
        app = state_of(request).add_app(
            client_id=text_field(data, "client_id"),
            client_secret=text_field(data, "client_secret"),
            redirect_uris=uris,
            name=data.get("name"),
        )
    return Response.json(
        {"client_id": app.client_id, "name": app.name, "redirect_uris": app.redirect_uris},
        status=201,
    )


@router.route("GET", PREFIX + "/apps", name="sandbox.microsoft.apps.list", provider="control")
def apps_list(request: Request) -> Response:
    with request.sandbox.lock:
        apps = [
            {"client_id": a.client_id, "name": a.name, "redirect_uris": a.redirect_uris}
            for a in state_of(request).apps.values()
        ]
    return Response.json({"apps": apps})


def _tenant_json(state: MicrosoftState, tenant_id: str) -> dict[str, Any]:
    tenant = state.tenants[tenant_id]
    return {
        "tenant_id": tenant.tenant_id,
        "domain": tenant.domain,
        "name": tenant.name,
        "user_consent_allowed": tenant.user_consent_allowed,
        "admin_consents": tenant.admin_consents,
        "users": [u.upn for u in state.users.values() if u.tenant_id == tenant_id],
    }


@router.route(
    "POST", PREFIX + "/tenants", name="sandbox.microsoft.tenants.create", provider="control"
)
def tenants_create(request: Request) -> Response:
    data = json_object(request)
    with request.sandbox.lock:
        state = state_of(request)
        tenant = _directory(
            lambda: state.add_tenant(
                domain=text_field(data, "domain"),
                name=text_field(data, "name"),
                tenant_id=data.get("tenant_id"),
                user_consent_allowed=bool(data.get("user_consent_allowed", True)),
            )
        )
        return Response.json(_tenant_json(state, tenant.tenant_id), status=201)


@router.route("GET", PREFIX + "/tenants", name="sandbox.microsoft.tenants.list", provider="control")
def tenants_list(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        return Response.json({"tenants": [_tenant_json(state, t) for t in state.tenants]})


@router.route(
    "POST",
    PREFIX + r"/tenants/(?P<tid>[^/]+)/users",
    name="sandbox.microsoft.users.create",
    provider="control",
)
def users_create(request: Request) -> Response:
    return _add_user(request, json_object(request))


def _add_user(request: Request, data: dict[str, Any], **extra: Any) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        user = _directory(
            lambda: state.add_user(
                tenant_id=request.params["tid"],
                email=text_field(data, "email"),
                name=text_field(data, "name"),
                **extra,
            )
        )
        return Response.json(user_json(user), status=201)


@router.route(
    "POST",
    PREFIX + r"/tenants/(?P<tid>[^/]+)/shared-mailboxes",
    name="sandbox.microsoft.sharedMailboxes.create",
    provider="control",
)
def shared_create(request: Request) -> Response:
    data = json_object(request)
    delegates = data.get("delegates") or []
    if not isinstance(delegates, list) or not all(isinstance(d, str) for d in delegates):
        raise control_error(400, "delegates must be a list of user principal names")
    return _add_user(request, data, shared=True, delegates=delegates)


@router.route("GET", PREFIX + "/users", name="sandbox.microsoft.users.list", provider="control")
def users_list(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        rows = [
            {
                **user_json(u),
                "messages": len(state.mailboxes[u.oid].messages),
                "events": len(state.mailboxes[u.oid].events),
            }
            for u in state.users.values()
        ]
    return Response.json({"users": rows})


@router.route(
    "POST", PREFIX + "/tokens", name="sandbox.microsoft.tokens.create", provider="control"
)
def tokens_create(request: Request) -> Response:
    """Consent without a browser: ``{upn, client_id, scopes}`` → a token response."""
    from integrations.sandbox.microsoft.identity_authorize import grant_for
    from integrations.sandbox.microsoft.tokens import issue_tokens

    data = json_object(request)
    try:
        graph, oidc = split_scopes(" ".join(data.get("scopes") or []))
    except UnknownScope as exc:
        raise control_error(400, f"unknown scope {exc}") from exc
    with request.sandbox.lock:
        state = state_of(request)
        user = state.find_user(text_field(data, "upn"))
        if user is None or user.shared or text_field(data, "client_id") not in state.apps:
            raise control_error(404, "unknown user or app")
        grant = grant_for(state, data["client_id"], user, graph)
        body = issue_tokens(
            state,
            base_url=request.base_url,
            grant=grant,
            graph_scopes=graph,
            oidc_scopes=[*oidc, *(["offline_access"] if "offline_access" not in oidc else [])],
            nonce=None,
            want_client_info=True,
        )
    return Response.json(body, status=201)


@router.route(
    "POST", PREFIX + "/grants/revoke", name="sandbox.microsoft.grants.revoke", provider="control"
)
def grants_revoke(request: Request) -> Response:
    data = json_object(request)
    with request.sandbox.lock:
        state = state_of(request)
        revoked = _directory(lambda: state.revoke_user(text_field(data, "upn")))
    return Response.json({"upn": data["upn"], "revoked": revoked})


# -- mailbox contents --------------------------------------------------------------------------


def _when(value: Any, default: datetime) -> datetime:
    if value is None:
        return default
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise control_error(400, "receivedDateTime must be ISO 8601 with an offset")
    return moment


def _folder(state: MicrosoftState, mailbox: Mailbox, name: str) -> Any:
    folder = state.folder_by_key(mailbox, mailstore.GENERATOR_FOLDERS.get(name, name))
    if folder is None:
        raise control_error(400, f"unknown folder {name}")
    return folder


@router.route("POST", USER + "/fill", name="sandbox.microsoft.users.fill", provider="control")
def users_fill(request: Request) -> Response:
    from integrations.sandbox.generator import Person, generate_events, generate_mailbox
    from integrations.sandbox.generator.companies_json import companies_from_json

    data = json_object(request)
    numbers: dict[str, int] = {}
    for key, default in (("seed", None), ("count", None), ("span_days", 60), ("events", 0)):
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise control_error(400, f"{key} must be a non-negative integer")
        numbers[key] = value
    if numbers["count"] > MAX_FILL:
        raise control_error(400, f"count must be at most {MAX_FILL}")
    try:
        companies = companies_from_json(data["companies"]) if "companies" in data else None
    except ValueError as exc:
        raise control_error(400, str(exc)) from exc
    with request.sandbox.lock:
        state = state_of(request)
        user, mailbox = _user(state, request)
        now = state.now()
        owner = Person(user.name, user.upn)
        items = generate_mailbox(
            owner=owner,
            seed=numbers["seed"],
            count=numbers["count"],
            now=now,
            span_days=numbers["span_days"],
            companies=companies,
        )
        for item in items:  # Graph has no Gmail-style categories: item.category is ignored.
            mailstore.add_message(
                state,
                mailbox,
                raw=item.raw,
                folder=_folder(state, mailbox, item.folder),
                received_at=item.received_at,
                is_read=not item.unread,
                is_draft=item.folder == "drafts",
                flag_status="flagged" if item.starred else "notFlagged",
            )
        events = 0
        if numbers["events"]:
            generated = generate_events(
                owner=owner,
                seed=numbers["seed"],
                count=numbers["events"],
                now=now,
                companies=companies,
            )
            events = fill_events(state, mailbox, generated)
    return Response.json({"messages": len(items), "events": events})


@router.route(
    "POST", USER + "/messages", name="sandbox.microsoft.messages.deliver", provider="control"
)
def messages_deliver(request: Request) -> Response:
    data = json_object(request)
    raw = raw_message(data.get("raw"))
    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = _user(state, request)
        folder = _folder(state, mailbox, str(data.get("folder") or "inbox"))
        message = mailstore.add_message(
            state,
            mailbox,
            raw=raw,
            folder=folder,
            received_at=_when(data.get("receivedDateTime"), state.now()),
            is_read=bool(data.get("isRead", False)),
            is_draft=folder.well_known == "drafts",
        )
        return Response.json(
            {"id": message.rest_id, "immutableId": message.immutable_id}, status=201
        )


@router.route("GET", USER + "/messages", name="sandbox.microsoft.messages.list", provider="control")
def messages_dump(request: Request) -> Response:
    from integrations.sandbox.microsoft.graph_render import cache_of

    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = _user(state, request)
        rows = []
        for message in sorted(mailbox.messages.values(), key=lambda m: m.received_at, reverse=True):
            folder = mailbox.folders[message.folder_id]
            rows.append(
                {
                    "id": message.rest_id,
                    "immutableId": message.immutable_id,
                    "folder": folder.well_known or folder.display_name,
                    "folderId": folder.id,
                    "isRead": message.is_read,
                    "isDraft": message.is_draft,
                    "flag": {"flagStatus": message.flag_status},
                    "internetMessageId": cache_of(message, mailbox.oid).parsed.message_id,
                    "receivedDateTime": message.received_at.isoformat(),
                }
            )
    return Response.json({"messages": rows})


def _message(mailbox: Mailbox, request: Request) -> Any:
    message = mailstore.find_message(mailbox, request.params["id"])
    if message is None:
        raise control_error(404, f"no message {request.params['id']}")
    return message


@router.route(
    "DELETE",
    USER + r"/messages/(?P<id>[^/]+)",
    name="sandbox.microsoft.messages.delete",
    provider="control",
)
def messages_delete(request: Request) -> Response:
    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = _user(state, request)
        mailstore.delete_message(state, mailbox, _message(mailbox, request))
    return Response.json({"deleted": request.params["id"]})


@router.route(
    "PATCH",
    USER + r"/messages/(?P<id>[^/]+)",
    name="sandbox.microsoft.messages.update",
    provider="control",
)
def messages_update(request: Request) -> Response:
    data = json_object(request)
    with request.sandbox.lock:
        state = state_of(request)
        _, mailbox = _user(state, request)
        message = _message(mailbox, request)
        changes: dict[str, Any] = {}
        if "isRead" in data:
            changes["is_read"] = bool(data["isRead"])
        if "flagged" in data:
            changes["flag_status"] = "flagged" if data["flagged"] else "notFlagged"
        if changes:
            mailstore.update_message(state, mailbox, message, changes)
        if data.get("folder"):
            mailstore.move_message(
                state, mailbox, message, _folder(state, mailbox, str(data["folder"]))
            )
        return Response.json(
            {
                "id": message.rest_id,
                "immutableId": message.immutable_id,
                "folder": mailbox.folders[message.folder_id].well_known,
                "isRead": message.is_read,
                "flag": {"flagStatus": message.flag_status},
            }
        )


@router.route(
    "POST", USER + "/expire-delta", name="sandbox.microsoft.delta.expire", provider="control"
)
def expire_delta(request: Request) -> Response:
    """Every delta and skip token of this mailbox now answers 410 SyncStateNotFound."""
    with request.sandbox.lock:
        state = state_of(request)
        user, mailbox = _user(state, request)
        mailbox.delta_epoch += 1
        dropped = [k for k, s in state.delta_states.items() if s.oid == user.oid]
        for key in dropped:
            del state.delta_states[key]
    return Response.json({"upn": user.upn, "expired": len(dropped)})
