"""Graph listings the mail driver needs besides delta: attachments of messages, mail folders.

Both go through ``$batch``. Failures of single inner requests come back to the caller as the
GraphResult (``check`` raises for the ones that mean the mailbox is out of reach).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from integrations.providers.mail import RemoteAttachment, RemoteFolder
from integrations.providers.microsoft.graph import (
    IMMUTABLE_IDS,
    GraphClient,
    GraphRequest,
    GraphResult,
    path_segment,
)
from integrations.providers.microsoft.graph_mail_parse import (
    ATTACHMENT_META_SELECT,
    WELL_KNOWN_ROLES,
    attachment_from_json,
    folder_role,
    has_only_inline,
)

INLINE_DATA_LIMIT = 256 * 1024  # inline parts up to this size come with their bytes
FOLDER_SELECT = "id,displayName,childFolderCount"
MAX_FOLDER_DEPTH = 8

Check = Callable[[GraphResult], None]
Listed = dict[str, tuple[RemoteAttachment, ...] | GraphResult]


def list_attachments(
    client: GraphClient, mailbox: str, items: list[dict[str, Any]], check: Check
) -> Listed:
    """Attachments per message id; the failed answer where listing failed.

    Messages with real attachments are listed without contentBytes (they can be large);
    messages whose attachments are all inline are listed whole, bytes included. Inline
    attachments listed without bytes get one more request each for their bytes and contentId,
    which only the full fileAttachment carries (real Graph refuses ``$select=contentId`` on the
    collection).
    """
    if not items:
        return {}
    requests = []
    for n, item in enumerate(items):
        url = f"{mailbox}/messages/{path_segment(str(item['id']))}/attachments"
        if not has_only_inline(item):
            url += f"?$select={ATTACHMENT_META_SELECT}"
        requests.append(GraphRequest(str(n), url, headers=IMMUTABLE_IDS))
    results = client.batch(requests)
    listed: dict[str, list[dict[str, Any]] | GraphResult] = {}
    for n, item in enumerate(items):
        result = results[str(n)]
        if result.ok:
            listed[str(item["id"])] = _values(client, result, "attachment listing")
        else:
            check(result)
            listed[str(item["id"])] = result
    _complete_inline(client, mailbox, listed)
    return {
        message_id: values
        if isinstance(values, GraphResult)
        else tuple(attachment_from_json(v, keep_data_up_to=_data_limit(v)) for v in values)
        for message_id, values in listed.items()
    }


def _data_limit(value: dict[str, Any]) -> int:
    return INLINE_DATA_LIMIT if value.get("isInline") else 0


def _values(client: GraphClient, result: GraphResult, what: str) -> list[dict[str, Any]]:
    """A collection's items, following nextLinks (rare for attachments and folders)."""
    body = result.body if isinstance(result.body, dict) else {}
    values = list(body.get("value") or [])
    link = body.get("@odata.nextLink")
    while link:
        page = client.get_json(link, headers=IMMUTABLE_IDS, what=what)
        values += page.get("value") or []
        link = page.get("@odata.nextLink")
    return [v for v in values if isinstance(v, dict) and v.get("id")]


def _complete_inline(
    client: GraphClient, mailbox: str, listed: dict[str, list[dict[str, Any]] | GraphResult]
) -> None:
    wanted = [
        (message_id, values, index)
        for message_id, values in listed.items()
        if not isinstance(values, GraphResult)
        for index, value in enumerate(values)
        if value.get("isInline") and "contentBytes" not in value
    ]
    if not wanted:
        return
    results = client.batch(
        [
            GraphRequest(
                str(n),
                f"{mailbox}/messages/{path_segment(message_id)}/attachments/"
                f"{path_segment(str(values[index]['id']))}",
                headers=IMMUTABLE_IDS,
            )
            for n, (message_id, values, index) in enumerate(wanted)
        ]
    )
    for n, (_, values, index) in enumerate(wanted):
        result = results[str(n)]
        if result.ok and isinstance(result.body, dict):
            values[index] = result.body  # else keep the metadata: bytes come via $value


def list_folders(client: GraphClient, mailbox: str, check: Check) -> list[RemoteFolder]:
    """Every folder, well-known ones with their role: one ``$batch`` per level of nesting."""
    listing = f"{mailbox}/mailFolders?$top=250&$select={FOLDER_SELECT}"
    results = client.batch(
        [GraphRequest("top", listing)]
        + [
            GraphRequest(name, f"{mailbox}/mailFolders/{name}?$select={FOLDER_SELECT}")
            for name in WELL_KNOWN_ROLES
        ]
    )
    roles: dict[str, str] = {}
    found: dict[str, dict[str, Any]] = {}
    for name in WELL_KNOWN_ROLES:
        result = results[name]
        if result.status == 404 and result.error_code == "ErrorItemNotFound":
            continue  # not every mailbox has every well-known folder (Archive)
        check(result)
        roles[result.body["id"]] = folder_role(name)
        found[result.body["id"]] = result.body
    check(results["top"])
    level = _values(client, results["top"], "folder listing")
    for _ in range(MAX_FOLDER_DEPTH):
        for folder in level:
            found.setdefault(folder["id"], folder)
        parents = [f for f in level if f.get("childFolderCount")]
        if not parents:
            break
        children = client.batch(
            [
                GraphRequest(
                    str(n),
                    f"{mailbox}/mailFolders/{path_segment(f['id'])}/childFolders"
                    f"?$top=250&$select={FOLDER_SELECT}",
                )
                for n, f in enumerate(parents)
            ]
        )
        level = []
        for n in range(len(parents)):
            check(children[str(n)])
            level += _values(client, children[str(n)], "folder listing")
    return [
        RemoteFolder(
            provider_id=folder_id,
            name=str(folder.get("displayName") or ""),
            role=roles.get(folder_id, "other"),
        )
        for folder_id, folder in found.items()
    ]
