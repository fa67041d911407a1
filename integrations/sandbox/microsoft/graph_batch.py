"""Graph JSON batching: ``POST /graph/v1.0/$batch`` with up to 20 requests and ``dependsOn``.

Each inner request goes through the same route, auth, throttling and fault injection as a
top-level one, so a 429 shows up per response (with its Retry-After header) as on Graph.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from integrations.sandbox.dispatch import serve_batch_part
from integrations.sandbox.http import CaseInsensitiveHeaders, Request, Response, router
from integrations.sandbox.microsoft.graph_common import GRAPH_ROOT, graph_error_response

MAX_REQUESTS = 20
_HOP_HEADERS = ("content-length", "request-id", "client-request-id")


def _batch_error(request: Request, message: str) -> Response:
    return graph_error_response(request, datetime.now(UTC), 400, "BadRequest", message)


def _validate(request: Request, items: Any) -> str | None:
    if not isinstance(items, list) or not items:
        return "Invalid batch payload format."
    if len(items) > MAX_REQUESTS:
        return f"The number of batch requests exceeds the limit of {MAX_REQUESTS}."
    seen: set[str] = set()
    for item in items:
        if (
            not isinstance(item, dict)
            or not item.get("id")
            or not item.get("method")
            or not item.get("url")
        ):
            return "Invalid batch payload format."
        if str(item["id"]) in seen:
            return "Batch request ids must be unique."
        seen.add(str(item["id"]))
    for item in items:
        item_id = str(item["id"])
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or any(
            str(d) not in seen or str(d) == item_id for d in depends
        ):
            return f"Request {item_id} depends on a request id that is not in the batch."
        headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
        writes = str(item["method"]).upper() in ("POST", "PATCH", "PUT")
        if writes and item.get("body") is not None and "content-type" not in headers:
            return f"Write request id : {item_id} does not contain Content-Type header or body."
    return None


def _inner_request(outer: Request, item: dict[str, Any]) -> Request:
    target = urlsplit(str(item["url"]))
    path = unquote(target.path)
    if not path.startswith("/"):
        path = "/" + path
    if not path.lower().startswith(GRAPH_ROOT):
        path = GRAPH_ROOT + path
    headers = {"authorization": outer.headers.get("authorization") or ""}
    headers.update({k: str(v) for k, v in (item.get("headers") or {}).items()})
    body = item.get("body")
    raw = b""
    if body is not None:
        content_type = headers.get("Content-Type") or headers.get("content-type") or ""
        if isinstance(body, str) and "json" not in content_type.lower():
            raw = base64.b64decode(body)
        else:
            raw = json.dumps(body).encode()
    return Request(
        method=str(item["method"]).upper(),
        path=path,
        query=parse_qs(target.query, keep_blank_values=True),
        headers=CaseInsensitiveHeaders(headers),
        body=raw,
        base_url=outer.base_url,
        sandbox=outer.sandbox,
    )


def _dispatch(inner: Request) -> Response:
    matched = router.match(inner.method, inner.path)
    return serve_batch_part(inner, matched, unmatched=_unknown_segment, reset=_gateway_timeout)


def _unknown_segment(inner: Request) -> Response:
    return graph_error_response(
        inner,
        datetime.now(UTC),
        400,
        "BadRequest",
        f"Resource not found for the segment '{inner.path}'.",
    )


def _gateway_timeout(inner: Request) -> Response:
    return graph_error_response(
        inner,
        datetime.now(UTC),
        504,
        "GatewayTimeout",
        "The gateway did not receive a response in time.",
    )


def _entry(item_id: str, response: Response) -> dict[str, Any]:
    headers = {k: v for k, v in response.headers if k.lower() not in _HOP_HEADERS}
    entry: dict[str, Any] = {"id": item_id, "status": response.status, "headers": headers}
    if response.body:
        content_type = (response.header("Content-Type") or "").lower()
        if "json" in content_type:
            entry["body"] = json.loads(response.body)
        else:
            entry["body"] = base64.b64encode(response.body).decode("ascii")
    return entry


def _execution_order(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Requests in array order, each after the ones it depends on; None on a cycle."""
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if all(str(d) in done for d in i.get("dependsOn") or [])]
        if not ready:
            return None
        first = ready[0]
        order.append(first)
        done.add(str(first["id"]))
        pending.remove(first)
    return order


@router.route("POST", r"/graph/v1\.0/\$batch", name="graph.batch", provider="microsoft")
def batch(request: Request) -> Response:
    try:
        payload = request.json()
    except (ValueError, UnicodeDecodeError):
        return _batch_error(request, "Invalid batch payload format.")
    items = payload.get("requests") if isinstance(payload, dict) else None
    problem = _validate(request, items)
    if problem:
        return _batch_error(request, problem)
    order = _execution_order(items)  # type: ignore[arg-type]
    if order is None:
        return _batch_error(request, "The dependsOn graph of the batch has a cycle.")
    statuses: dict[str, int] = {}
    entries: dict[str, dict[str, Any]] = {}
    for item in order:
        item_id = str(item["id"])
        failed = [d for d in item.get("dependsOn") or [] if not 200 <= statuses[str(d)] < 300]
        if failed:
            response = graph_error_response(
                request, datetime.now(UTC), 424, "FailedDependency", "The dependent request failed."
            )
        else:
            response = _dispatch(_inner_request(request, item))
        statuses[item_id] = response.status
        entries[item_id] = _entry(item_id, response)
    responses = [entries[str(item["id"])] for item in items]  # type: ignore[union-attr]
    request_id = str(uuid.uuid4())
    body = json.dumps({"responses": responses}, separators=(",", ":")).encode()
    return Response(
        200,
        body,
        [
            (
                "Content-Type",
                "application/json;odata.metadata=minimal;odata.streaming=true;"
                "IEEE754Compatible=false;charset=utf-8",
            ),
            ("request-id", request_id),
            ("client-request-id", request.headers.get("client-request-id") or request_id),
        ],
    )
