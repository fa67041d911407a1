"""Generic control API under ``/_sandbox/``: info, reset, faults, requests, quotas, config, clock,
heap.

Provider control routes (``/_sandbox/google/...``, ``/_sandbox/microsoft/...``) live in the
provider packages. Everything here answers JSON and is never subject to fault injection.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from integrations.sandbox.control_json import control_error, json_object
from integrations.sandbox.http import Request, Response, router


def _int_arg(request: Request, name: str, default: int | None = None) -> int | None:
    value = request.arg(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise control_error(400, f"{name} must be an integer") from exc


@router.route("GET", r"/_sandbox/info", name="sandbox.info", provider="control")
def info(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        body = {
            **sandbox.info,
            "now": sandbox.now().isoformat(),
            "clock_offset_seconds": sandbox.clock_offset.total_seconds(),
            "config": sandbox.config.to_dict(),
            "faults": len(sandbox.faults.rules()),
            "requests_logged": sandbox.request_log.last_seq,
            "routes": [
                {
                    "method": r.method,
                    "pattern": r.regex.pattern,
                    "name": r.name,
                    "provider": r.provider,
                }
                for r in router.routes
            ],
        }
    return Response.json(body)


@router.route("POST", r"/_sandbox/reset", name="sandbox.reset", provider="control")
def reset(request: Request) -> Response:
    request.sandbox.reset()
    return Response.json({"reset": True, "now": request.sandbox.now().isoformat()})


@router.route("POST", r"/_sandbox/heap/freeze", name="sandbox.heap.freeze", provider="control")
def heap_freeze(request: Request) -> Response:
    """Collect garbage now, then keep what the sandbox holds out of later collections.

    A filled mailbox and its render caches are millions of long-lived objects; every full
    collection of the interpreter walks them all (0.3 to 0.5 s of CPU for 20,000 messages) at
    moments set by allocation counts. A benchmark freezes after its warm-up, so no measured
    phase pays for a collection of what an earlier phase stored. ``reset`` thaws the heap.
    """
    collected = gc.collect()
    gc.freeze()
    return Response.json({"collected": collected, "frozen": gc.get_freeze_count()})


@router.route("POST", r"/_sandbox/save", name="sandbox.save", provider="control")
def save(request: Request) -> Response:
    if request.sandbox.state_path is None:
        raise control_error(409, "the sandbox was started without --state")
    path = request.sandbox.save()
    return Response.json({"saved": str(path)})


@router.route("GET", r"/_sandbox/faults", name="sandbox.faults.list", provider="control")
def faults_list(request: Request) -> Response:
    return Response.json({"faults": request.sandbox.faults.rules()})


@router.route("POST", r"/_sandbox/faults", name="sandbox.faults.add", provider="control")
def faults_add(request: Request) -> Response:
    """Add one rule (an object) or several (``{"faults": [...]}``); answer the stored rules."""
    data = json_object(request)
    payloads = data.get("faults", [data])
    if not isinstance(payloads, list) or not all(isinstance(p, dict) for p in payloads):
        raise control_error(400, "faults must be a list of objects")
    injector = request.sandbox.faults
    added = []
    try:
        for payload in payloads:
            added.append(injector.add(payload))
    except (TypeError, ValueError) as exc:
        for rule in added:  # all or nothing
            injector.remove(rule.id)
        raise control_error(400, str(exc)) from exc
    rules = [rule.to_dict() for rule in added]
    return Response.json(rules[0] if "faults" not in data else {"faults": rules}, status=201)


@router.route("DELETE", r"/_sandbox/faults", name="sandbox.faults.clear", provider="control")
def faults_clear(request: Request) -> Response:
    request.sandbox.faults.clear()
    return Response.empty()


@router.route(
    "DELETE",
    r"/_sandbox/faults/(?P<fault_id>[^/]+)",
    name="sandbox.faults.delete",
    provider="control",
)
def faults_delete(request: Request) -> Response:
    if not request.sandbox.faults.remove(request.params["fault_id"]):
        raise control_error(404, f"no fault {request.params['fault_id']}")
    return Response.empty()


@router.route("GET", r"/_sandbox/requests", name="sandbox.requests.list", provider="control")
def requests_list(request: Request) -> Response:
    log = request.sandbox.request_log
    entries = log.entries(
        since=_int_arg(request, "since", 0) or 0,
        route=request.arg("route") or None,
        provider=request.arg("provider") or None,
        user=request.arg("user") or None,
        limit=_int_arg(request, "limit"),
    )
    return Response.json({"requests": entries, "last_seq": log.last_seq})


@router.route("DELETE", r"/_sandbox/requests", name="sandbox.requests.clear", provider="control")
def requests_clear(request: Request) -> Response:
    request.sandbox.request_log.clear()
    return Response.empty()


@router.route("GET", r"/_sandbox/quotas", name="sandbox.quotas", provider="control")
def quotas(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        body = {
            "google": sandbox.google.quota_snapshot(),
            "microsoft": sandbox.microsoft.quota_snapshot(),
        }
    return Response.json(_jsonable(body))


@router.route("GET", r"/_sandbox/config", name="sandbox.config.get", provider="control")
def config_get(request: Request) -> Response:
    return Response.json(request.sandbox.config.to_dict())


@router.route("POST", r"/_sandbox/config", name="sandbox.config.set", provider="control")
def config_set(request: Request) -> Response:
    sandbox = request.sandbox
    with sandbox.lock:
        try:
            sandbox.config.update(json_object(request))
        except ValueError as exc:
            raise control_error(400, str(exc)) from exc
        return Response.json(sandbox.config.to_dict())


@router.route("GET", r"/_sandbox/clock", name="sandbox.clock.get", provider="control")
def clock_get(request: Request) -> Response:
    sandbox = request.sandbox
    return Response.json(
        {"now": sandbox.now().isoformat(), "offset_seconds": sandbox.clock_offset.total_seconds()}
    )


@router.route("POST", r"/_sandbox/clock", name="sandbox.clock.advance", provider="control")
def clock_advance(request: Request) -> Response:
    seconds = json_object(request).get("advance_seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise control_error(400, "advance_seconds must be a number")
    sandbox = request.sandbox
    now = sandbox.advance_clock(seconds)
    return Response.json(
        {"now": now.isoformat(), "offset_seconds": sandbox.clock_offset.total_seconds()}
    )


@router.route("GET", r"/_sandbox/notifications", name="sandbox.notifications", provider="control")
def notifications(request: Request) -> Response:
    """Push notifications the sandbox has sent (Gmail watch, Graph subscriptions) and outcomes."""
    return Response.json({"notifications": list(request.sandbox.notifications)})


def _jsonable(value: Any) -> Any:
    # Quota snapshots may carry datetimes or sets; the control API must still answer JSON.
    return json.loads(json.dumps(value, default=str))
