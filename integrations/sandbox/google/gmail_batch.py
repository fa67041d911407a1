"""Google's batch endpoint: ``/google/batch/gmail/v1`` (Gmail only) and ``/google/batch`` (any
Google API), in the multipart/mixed format ``googleapiclient.http.BatchHttpRequest`` writes.

Each part is ``Content-Type: application/http`` with a ``Content-ID`` and an HTTP request inside;
the answer has one part per request, in order, whose ``Content-ID`` is ``<response-`` + the
request's id + ``>`` and whose payload is an HTTP response (status line, headers, blank line,
body). Each inner call goes through the same router and handlers as a direct call: its own
``Authorization`` (the outer one if it has none), its own quota charge, fault rules matched by
its route name, and its own line in the request log. More than 100 calls answer 400, like Google.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from integrations.sandbox.dispatch import serve_batch_part
from integrations.sandbox.google.errors import abort, api_error
from integrations.sandbox.google.multipart import (
    boundary_of,
    parse_headers,
    split_head,
    split_multipart,
)
from integrations.sandbox.http import (
    Abort,
    CaseInsensitiveHeaders,
    Request,
    Response,
    router,
    status_phrase,
)

MAX_CALLS = 100


@dataclass
class InnerRequest:
    content_id: str | None
    method: str
    target: str
    headers: CaseInsensitiveHeaders
    body: bytes


def parse_inner(content_id: str | None, payload: bytes) -> InnerRequest:
    head, body = split_head(payload)
    request_line, _, header_block = head.partition(b"\n")
    words = request_line.decode("latin-1").strip().split()
    if len(words) < 2:
        raise abort(400, "Invalid batch request: a part has no request line", reason="badRequest")
    return InnerRequest(content_id, words[0].upper(), words[1], parse_headers(header_block), body)


def _inner_response(
    request: Request, inner: InnerRequest, api_prefixes: tuple[str, ...]
) -> Response:
    """Run one inner request through the router as the server would run it."""
    target = urlsplit(inner.target)
    path = unquote(target.path)
    if not path.startswith("/google/"):
        path = "/google" + path  # clients that write Google's own paths (/gmail/v1/...)
    headers = inner.headers
    if "authorization" not in headers and "authorization" in request.headers:
        headers["authorization"] = request.headers["authorization"]
    sub = Request(
        method=inner.method,
        path=path,
        query=parse_qs(target.query, keep_blank_values=True),
        headers=headers,
        body=inner.body,
        base_url=request.base_url,
        sandbox=request.sandbox,
    )
    matched = router.match(inner.method, path) if path.startswith(api_prefixes) else None
    return serve_batch_part(sub, matched, unmatched=_not_found)


def _not_found(request: Request) -> Response:
    return api_error(404, "Not Found", reason="notFound")


def _render_part(boundary: str, content_id: str | None, index: int, response: Response) -> bytes:
    reply_id = f"response-{content_id.strip().strip('<>')}" if content_id else f"response-{index}"
    lines = [
        f"--{boundary}",
        "Content-Type: application/http",
        f"Content-ID: <{reply_id}>",
        "",
        f"HTTP/1.1 {response.status} {status_phrase(response.status)}",
    ]
    lines += [f"{key}: {value}" for key, value in response.headers]
    lines += ["Vary: Origin", "Vary: X-Origin", "Vary: Referer", "", ""]
    return "\r\n".join(lines).encode("utf-8") + response.body + b"\r\n"


def handle_batch(request: Request, api_prefixes: tuple[str, ...]) -> Response:
    """Answer a batch whose calls must all be under one of ``api_prefixes``."""
    content_type = request.headers.get("content-type", "")
    boundary = boundary_of(content_type)
    if not content_type.lower().startswith("multipart/mixed") or not boundary:
        return api_error(
            400, "Batch request must be multipart/mixed with a boundary", reason="badRequest"
        )
    parts = split_multipart(request.body, boundary)
    if not parts:
        return api_error(400, "Batch request contains no calls", reason="badRequest")
    if len(parts) > MAX_CALLS:
        return api_error(
            400, f"A batch request cannot contain more than {MAX_CALLS} calls", reason="badRequest"
        )
    try:
        inner_requests = [
            parse_inner(headers.get("content-id"), payload) for headers, payload in parts
        ]
    except Abort as aborted:
        return aborted.response
    reply = f"batch_{secrets.token_urlsafe(12)}"
    chunks = [
        _render_part(reply, inner.content_id, index, _inner_response(request, inner, api_prefixes))
        for index, inner in enumerate(inner_requests, start=1)
    ]
    chunks.append(f"--{reply}--\r\n".encode())
    return Response(200, b"".join(chunks), [("Content-Type", f"multipart/mixed; boundary={reply}")])


@router.route("POST", r"/google/batch/gmail/v1", name="google.batch.gmail", provider="google")
def gmail_batch(request: Request) -> Response:
    return handle_batch(request, ("/google/gmail/v1/",))


@router.route("POST", r"/google/batch", name="google.batch", provider="google")
def global_batch(request: Request) -> Response:
    return handle_batch(request, ("/google/gmail/v1/", "/google/calendar/v3/"))
