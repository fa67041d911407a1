"""Graph users (``/me``, ``/users/{id | userPrincipalName}``), mailbox settings and mail folders."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from integrations.sandbox.http import Response
from integrations.sandbox.microsoft import ids
from integrations.sandbox.microsoft import scopes as sc
from integrations.sandbox.microsoft.graph_common import (
    FOLDER,
    Ctx,
    GraphError,
    graph_root_route,
    graph_route,
    next_link,
    page_params,
)
from integrations.sandbox.microsoft.graph_odata import parse_select
from integrations.sandbox.microsoft.records import Folder, Mailbox, User
from integrations.sandbox.microsoft.state import ROOT_FOLDER

USER_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
FOLDER_PROPERTIES = (
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "sizeInBytes",
    "isHidden",
)
_USER_KNOWN = {p.lower(): p for p in USER_PROPERTIES}
_FOLDER_KNOWN = {p.lower(): p for p in FOLDER_PROPERTIES}


def user_json(user: User) -> dict[str, Any]:
    given, _, surname = user.name.partition(" ")
    return {
        "businessPhones": [],
        "displayName": user.name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": user.upn,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": user.upn,
        "id": user.oid,
    }


def _insufficient() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def _user_endpoint(ctx: Ctx, key: str | None) -> Response:
    caller = ctx.caller
    target = caller if key is None else ctx.state.find_user(key)
    if target is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried "
            "reference-property "
            "objects are not present.",
        )
    if target.oid == caller.oid:
        if not any(s in ctx.token.scopes for s in sc.USER_READ):
            raise _insufficient()
    else:
        delegate = target.shared and caller.oid in target.delegates
        directory = (
            any(s in ctx.token.scopes for s in sc.USER_READ_OTHERS)
            and target.tenant_id == caller.tenant_id
        )
        if not (delegate or directory):
            raise _insufficient()
    select = parse_select(ctx.arg("$select"), _USER_KNOWN, "microsoft.graph.user")
    full = user_json(target)
    projection = "(" + ",".join(select) + ")" if select else ""
    body: dict[str, Any] = {
        "@odata.context": f"{ctx.request.base_url}/graph/v1.0/$metadata#users{projection}/$entity"
    }
    body.update(full if select is None else {k: full[k] for k in select})
    return ctx.ok(body)


@graph_root_route("GET", r"/(?i:me)", name="graph.me.get")
def get_me(ctx: Ctx) -> Response:
    return _user_endpoint(ctx, None)


@graph_root_route("GET", r"/(?i:users)/(?P<key>[^/]+)", name="graph.users.get")
def get_user(ctx: Ctx) -> Response:
    return _user_endpoint(ctx, ctx.request.params["key"])


@graph_route("GET", r"/(?i:mailboxSettings)", name="graph.mailboxSettings.get", access=None)
def mailbox_settings(ctx: Ctx) -> Response:
    if ctx.target.oid == ctx.caller.oid and not any(
        s in ctx.token.scopes for s in ("MailboxSettings.Read", "MailboxSettings.ReadWrite")
    ):
        raise GraphError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    archive = ctx.state.well_known_folder(ctx.mailbox, "archive")
    return ctx.ok(
        {
            "@odata.context": ctx.context("mailboxSettings"),
            "archiveFolder": archive.id,
            "timeZone": "UTC",
            "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
            "dateFormat": "yyyy-MM-dd",
            "timeFormat": "HH:mm",
            "userPurpose": "shared" if ctx.target.shared else "user",
            "automaticRepliesSetting": {
                "status": "disabled",
                "externalAudience": "all",
                "internalReplyMessage": "",
                "externalReplyMessage": "",
            },
            "language": {"locale": "en-US", "displayName": "English (United States)"},
            "workingHours": {
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": {"name": "UTC"},
            },
        }
    )


# -- mail folders ----------------------------------------------------------------------------


def folder_counts(mailbox: Mailbox) -> dict[str, tuple[int, int, int]]:
    """folder id -> (total, unread, size in bytes), in one pass over the mailbox."""
    counts: dict[str, list[int]] = {fid: [0, 0, 0] for fid in mailbox.folders}
    for message in mailbox.messages.values():
        row = counts.setdefault(message.folder_id, [0, 0, 0])
        row[0] += 1
        row[1] += 0 if message.is_read else 1
        row[2] += len(message.raw)
    return {fid: (r[0], r[1], r[2]) for fid, r in counts.items()}


def folder_json(
    folder: Folder,
    mailbox: Mailbox,
    counts: dict[str, tuple[int, int, int]],
    select: list[str] | None,
) -> dict[str, Any]:
    total, unread, size = counts.get(folder.id, (0, 0, 0))
    full = {
        "id": folder.id,
        "displayName": folder.display_name,
        "parentFolderId": folder.parent_id,
        "childFolderCount": sum(1 for f in mailbox.folders.values() if f.parent_id == folder.id),
        "unreadItemCount": unread,
        "totalItemCount": total,
        "sizeInBytes": size,
        "isHidden": False,
    }
    if select is None:
        return full
    return {"id": folder.id, **{k: full[k] for k in select if k != "id"}}


def folder_or_404(ctx: Ctx, key: str) -> Folder:
    folder = ctx.state.folder_by_key(ctx.mailbox, key)
    if folder is None:
        check_id(key)
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return folder


def check_id(key: str) -> None:
    """Exchange rejects an id that is not even base64 before looking it up."""
    try:
        base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    except (binascii.Error, ValueError) as exc:
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from exc


def _folder_list(ctx: Ctx, parent: Folder, tail: str) -> Response:
    select = parse_select(ctx.arg("$select"), _FOLDER_KNOWN, "microsoft.graph.mailFolder")
    top, skip = page_params(ctx)
    mailbox = ctx.mailbox
    children = sorted(
        (f for f in mailbox.folders.values() if f.parent_id == parent.id),
        key=lambda f: f.display_name.lower(),
    )
    counts = folder_counts(mailbox)
    page = children[skip : skip + top]
    body: dict[str, Any] = {"@odata.context": ctx.context(tail)}
    if skip + top < len(children):
        body["@odata.nextLink"] = next_link(ctx, skip + top)
    body["value"] = [folder_json(f, mailbox, counts, select) for f in page]
    return ctx.ok(body)


@graph_route("GET", r"/(?i:mailFolders)", name="graph.mailFolders.list", access="mail.read")
def list_folders(ctx: Ctx) -> Response:
    root = ctx.state.well_known_folder(ctx.mailbox, ROOT_FOLDER)
    return _folder_list(ctx, root, "mailFolders")


@graph_route(
    "GET",
    FOLDER + r"/(?i:childFolders)",
    name="graph.mailFolders.childFolders.list",
    access="mail.read",
)
def list_child_folders(ctx: Ctx) -> Response:
    parent = folder_or_404(ctx, ctx.request.params["folder"])
    return _folder_list(ctx, parent, f"mailFolders('{parent.id}')/childFolders")


@graph_route("GET", FOLDER, name="graph.mailFolders.get", access="mail.read")
def get_folder(ctx: Ctx) -> Response:
    folder = folder_or_404(ctx, ctx.request.params["folder"])
    select = parse_select(ctx.arg("$select"), _FOLDER_KNOWN, "microsoft.graph.mailFolder")
    body = {
        "@odata.context": ctx.context("mailFolders/$entity"),
        **folder_json(folder, ctx.mailbox, folder_counts(ctx.mailbox), select),
    }
    return ctx.ok(body)


def _create_folder(ctx: Ctx, parent: Folder) -> Response:
    data = ctx.json_body()
    name = str(data.get("displayName") or "").strip()
    if not name:
        raise GraphError(
            400, "ErrorInvalidRequest", "The request is invalid: displayName is required."
        )
    mailbox = ctx.mailbox
    if any(
        f.parent_id == parent.id and f.display_name.lower() == name.lower()
        for f in mailbox.folders.values()
    ):
        raise GraphError(
            409, "ErrorFolderExists", "A folder with the specified name already exists."
        )
    folder = Folder(ids.folder_id(mailbox.oid), name, None, parent.id)
    mailbox.folders[folder.id] = folder
    body = {
        "@odata.context": ctx.context("mailFolders/$entity"),
        **folder_json(folder, mailbox, {}, None),
    }
    return ctx.ok(body, status=201)


@graph_route("POST", r"/(?i:mailFolders)", name="graph.mailFolders.create", access="mail.write")
def create_folder(ctx: Ctx) -> Response:
    return _create_folder(ctx, ctx.state.well_known_folder(ctx.mailbox, ROOT_FOLDER))


@graph_route(
    "POST",
    FOLDER + r"/(?i:childFolders)",
    name="graph.mailFolders.childFolders.create",
    access="mail.write",
)
def create_child_folder(ctx: Ctx) -> Response:
    return _create_folder(ctx, folder_or_404(ctx, ctx.request.params["folder"]))
