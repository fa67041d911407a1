"""Google batch requests written and read as text, not through the ``email`` package.

``BatchHttpRequest`` builds each call as a MIME message, flattens the batch with
``email.generator`` (folding every header) and reads the answer with ``FeedParser``, line by
line through every JSON body: at 50 ``messages.get`` calls a batch, that costs the client more
CPU than the rest of a sync's download. ``WireBatchHttpRequest`` produces the very text the
library writes (same status lines, headers in the same order, same separators) and splits the
multipart answer on its boundary. Everything else (credentials, 401 renewal and resend, callbacks,
errors) is the library's own. An answer it cannot split goes through the library's parser.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse
from email.parser import FeedParser
from typing import Any

import httplib2
from googleapiclient import _auth
from googleapiclient.errors import BatchError, HttpError
from googleapiclient.http import BatchHttpRequest

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class UnreadableBatch(ValueError):
    """The answer is not the multipart shape this module splits (the library parses it)."""


class WireBatchHttpRequest(BatchHttpRequest):
    def _serialize_request(self, request: Any) -> str:
        headers = request.headers.copy()
        if request.http is not None:
            credentials = _auth.get_credentials_from_http(request.http)
            if credentials is not None:
                _auth.apply_credentials(credentials, headers)
        content_type = headers.pop("content-type", "application/json")
        parsed = urllib.parse.urlparse(request.uri)
        fields = [("Content-Type", content_type), ("MIME-Version", "1.0"), *headers.items()]
        fields.append(("Host", parsed.netloc))
        if request.body is not None:
            fields.append(("content-length", str(len(request.body))))
        if not all(_plain(str(value)) for _, value in fields):
            # A value the generator would encode or fold: let it.
            return str(super()._serialize_request(request))
        target = urllib.parse.urlunparse(("", "", parsed.path, parsed.params, parsed.query, ""))
        head = "".join(f"{name}: {value}\n" for name, value in fields)
        return f"{request.method} {target} HTTP/1.1\n{head}\n{request.body or ''}"

    def _execute(self, http: Any, order: list[str], requests: dict[str, Any]) -> None:
        parts = [
            "Content-Type: application/http\nMIME-Version: 1.0\n"
            "Content-Transfer-Encoding: binary\n"
            f"Content-ID: {self._id_to_header(request_id)}\n\n"
            f"{self._serialize_request(requests[request_id])}"
            for request_id in order
        ]
        boundary = _boundary_for(parts)
        body = "".join(f"--{boundary}\n{part}\n" for part in parts) + f"--{boundary}--\n"
        resp, content = http.request(
            self._batch_uri,
            method="POST",
            body=body,
            headers={"content-type": f'multipart/mixed; boundary="{boundary}"'},
        )
        if resp.status >= 300:
            raise HttpError(resp, content, uri=self._batch_uri)
        text = content.decode("utf-8")
        try:
            answers = _split_answer(resp["content-type"], text)
        except (UnreadableBatch, KeyError):
            answers = _library_split(resp, text)
        for content_id, payload in answers:
            request_id = self._header_to_id(content_id)
            response, inner = _inner_response(payload, self._deserialize_response)
            self._responses[request_id] = (response, inner.encode("utf-8"))


def _plain(value: str) -> bool:
    return value.isascii() and "\n" not in value and "\r" not in value


def _boundary_for(parts: list[str]) -> str:
    while True:
        boundary = f"==============={secrets.randbelow(10**19):019d}=="
        if not any(boundary in part for part in parts):
            return boundary


def _split_answer(content_type: str, text: str) -> list[tuple[str, str]]:
    """(Content-ID, payload) of each part of a multipart/mixed answer."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or match is None:
        raise UnreadableBatch("no boundary")
    delimiter = f"--{match.group(1)}"
    sections = text.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith("--"):
        raise UnreadableBatch("no closing delimiter")
    answers = []
    for section in sections[1:-1]:
        # The line break before a delimiter belongs to the delimiter.
        section = section.removesuffix("\n").removesuffix("\r")
        section = section.partition("\n")[2]  # the rest of the delimiter's line
        head, separator, payload = _split_head(section)
        if not separator:
            raise UnreadableBatch("a part has no header block")
        content_id = _header(head, "content-id")
        if content_id is None:
            raise UnreadableBatch("a part has no Content-ID")
        answers.append((content_id, payload))
    return answers


def _split_head(text: str) -> tuple[str, str, str]:
    crlf, lf = text.find("\r\n\r\n"), text.find("\n\n")
    if crlf != -1 and (lf == -1 or crlf <= lf):
        return text[:crlf], "\r\n\r\n", text[crlf + 4 :]
    if lf != -1:
        return text[:lf], "\n\n", text[lf + 2 :]
    return text, "", ""


def _header(head: str, name: str) -> str | None:
    found = None
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() == name:
            found = value.strip()
    return found


def _inner_response(payload: str, fallback: Any) -> tuple[httplib2.Response, str]:
    """The HTTP response inside a part: status line, headers, blank line, body."""
    status_line, _, rest = payload.partition("\n")
    words = status_line.split(" ", 2)
    head, separator, content = rest.partition("\r\n\r\n")
    if len(words) < 2 or not separator or not words[1].isdigit() or "\n " in head:
        return fallback(payload)
    fields: dict[str, str] = {}
    for line in head.split("\r\n"):
        key, colon, value = line.partition(":")
        if colon:
            fields[key.strip().lower()] = value.strip()
    fields["status"] = words[1]
    response = httplib2.Response(fields)
    response.reason = words[2].strip() if len(words) > 2 else ""
    response.version = int(words[0].split("/", 1)[1].replace(".", ""))
    return response, content


def _library_split(resp: Any, text: str) -> list[tuple[str, str]]:
    """The library's own reading of an answer."""
    parser = FeedParser()
    parser.feed(f"content-type: {resp['content-type']}\r\n\r\n{text}")
    message = parser.close()
    if not message.is_multipart():
        raise BatchError("Response not in multipart/mixed format.", resp=resp, content=text)
    parts: Any = message.get_payload()
    return [(str(part["Content-ID"]), str(part.get_payload())) for part in parts]
