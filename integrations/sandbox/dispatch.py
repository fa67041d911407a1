"""How one request is served, whether it came over the wire or inside a batch.

The server (``server.py``) and the batch endpoints (Gmail's multipart ``/batch``, Graph's JSON
``$batch``) all go through :func:`serve`: fault rules matched by route name (latency, an error in
the provider's shape, a connection reset), then the route's handler; and :func:`record_request`
writes the request log's line. So a fault or a log filter behaves the same for a batched call as
for a direct one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from integrations.sandbox.faults import error_kind, error_response
from integrations.sandbox.http import Abort, Request, Response, Route, router

logger = logging.getLogger(__name__)

USER_HEADER = "X-Sandbox-User"  # a handler may name the acting user here instead of log_user


def call_handler(handler: Any, request: Request) -> Response:
    """The handler's response; an :class:`Abort` answers its response, a bug a provider 500."""
    try:
        return handler(request)
    except Abort as abort:
        return abort.response
    except Exception:
        logger.exception("sandbox handler failed: %s %s", request.method, request.path)
        return error_response(500, request.path)


def serve(
    request: Request,
    route: Route | None,
    *,
    faults: bool = True,
    unmatched: Callable[[Request], Response],
) -> tuple[Response | None, list[str]]:
    """Apply the fault rules (with ``faults``), then answer: a fault's error, ``unmatched(request)``
    without a route, else the handler. Also the ids of the rules that fired. No response: a fault
    resets the connection."""
    name = route.name if route else None
    decision = request.sandbox.faults.decide(request.method, name, request.path) if faults else None
    fault_ids = decision.rule_ids if decision else []
    if decision and decision.latency_seconds:
        time.sleep(decision.latency_seconds)
    if decision and decision.reset:
        return None, fault_ids
    if decision and decision.response is not None:
        return decision.response, fault_ids
    if route is None:
        return unmatched(request), fault_ids
    return call_handler(route.handler, request), fault_ids


def serve_batch_part(
    request: Request,
    matched: tuple[Route, dict[str, str]] | None,
    *,
    unmatched: Callable[[Request], Response],
    reset: Callable[[Request], Response] | None = None,
) -> Response:
    """One request inside a batch, served like a request of its own and logged as ``batch``.

    One part cannot drop the connection, so a reset fault answers ``reset(request)`` (by default
    a 504 in the provider's error shape, as from a gateway that gave up).
    """
    started = time.perf_counter()
    route, params = matched if matched else (None, {})
    request.params = params
    response, fault_ids = serve(request, route, unmatched=unmatched)
    if response is None:
        response = reset(request) if reset else error_response(504, request.path)
    record_request(request, route, response, started, fault_ids, batch=True)
    return response


def record_request(
    request: Request,
    route: Route | None,
    response: Response | None,
    started: float,
    fault_ids: list[str],
    *,
    batch: bool = False,
) -> None:
    """The request log's line for one served request (``response`` None: the connection reset)."""
    user = getattr(request, "log_user", None)
    if user is None and response is not None:
        user = response.header(USER_HEADER)
    entry: dict[str, Any] = {
        "ts": request.sandbox.now().isoformat(),
        "method": request.method,
        "path": request.path,
        "route": route.name if route else None,
        "provider": route.provider if route else None,
        "status": response.status if response is not None else None,
        "user": user,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        "faults": fault_ids,
        "reset": response is None,
    }
    if batch:
        entry["batch"] = True
    request.sandbox.request_log.record(entry)


def unmatched_response(request: Request) -> Response:
    """404 (or 405 with ``Allow``) for a path no route serves, in the API's own error shape."""
    # OAuth endpoints have no error for a missing path, so everything that is neither Google's
    # nor Graph's API gets the sandbox's own {"error": {code, message}}.
    method, path = request.method, request.path
    kind = error_kind(path)
    kind = kind if kind in ("google", "graph") else "control"
    allowed = sorted({r.method for r in router.routes if r.regex.fullmatch(path)})
    if allowed:
        message = f"Method {method} not allowed for {path}"
        response = error_response(405, path, message=message, kind=kind)
        response.headers.append(("Allow", ", ".join(allowed)))
        return response
    return error_response(404, path, message=f"No such resource: {method} {path}", kind=kind)
