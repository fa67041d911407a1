"""The sandbox's tiny HTTP layer: a request, a response, and a router.

Provider modules register routes on the shared ``router``; the server turns each HTTP request
into a :class:`Request`, asks the router for a :class:`Response`, and writes it back. Nothing here
knows about Google or Microsoft.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs


def status_phrase(status: int, default: str = "Unknown") -> str:
    """``404`` → ``"Not Found"``; ``default`` for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


class CaseInsensitiveHeaders(dict[str, str]):
    """Request headers keyed by lower-case name."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__()
        for key, value in (items or {}).items():
            self[key.lower()] = value

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class Request:
    method: str
    path: str  # without the query string, percent-decoded
    query: dict[str, list[str]]
    headers: CaseInsensitiveHeaders
    body: bytes
    base_url: str  # scheme://host:port of the server, no trailing slash
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route
    sandbox: Any = None  # the running Sandbox (state, config, clock); set by the server

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in parsed.items()}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        body = json.dumps(data, separators=(",", ":")).encode()
        return cls(
            status, body, [("Content-Type", "application/json; charset=UTF-8"), *(headers or [])]
        )

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode(), [("Content-Type", "text/html; charset=utf-8")])

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        return cls(status, text.encode(), [("Content-Type", f"{content_type}; charset=utf-8")])

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> Response:
        return cls(status, b"", [("Location", url)])

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", [])

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Abort(Exception):  # not "AbortError": it reads as "abort with this response"
    """Raised by a handler to answer with ``response`` at once (errors, throttling)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    regex: re.Pattern[str]
    handler: Handler
    name: str  # stable name used by fault injection and the request log, e.g. "gmail.messages.get"
    provider: str  # "google" | "microsoft" | "control"


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, pattern: str, *, name: str, provider: str
    ) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method`` and a full-match regex ``pattern`` over the path."""

        def decorator(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), re.compile(pattern), handler, name, provider))
            return handler

        return decorator

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for this method and path; a path known under another method is still None."""
        for route in self.routes:
            if route.method != method.upper():
                continue
            found = route.regex.fullmatch(path)
            if found:
                return route, found.groupdict()
        return None


router = Router()
